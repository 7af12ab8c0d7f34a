/** TURN REST API credentials (coturn `use-auth-secret`): "<expiry>:<user>" and base64(HMAC-SHA1(secret, username)). */
import { createHmac } from 'node:crypto';
import { turnCredentials } from '../../../src/signaling/turn-credentials';

describe('turnCredentials', () => {
  const settings = { urls: ['turn:127.0.0.1:3478?transport=udp'], secret: 's3cret-shared', ttlSeconds: 600 };

  it('expires ttl seconds from now and names the user; the password is the HMAC the TURN server recomputes', () => {
    const now = Date.UTC(2026, 10, 29, 0, 0, 0);
    const c = turnCredentials(settings, 'participant-1', now)!;
    expect(c.urls).toEqual(settings.urls);
    expect(c.username).toBe(`${now / 1000 + 600}:participant-1`);
    // coturn: HMAC-SHA1 keyed with static-auth-secret over the whole username, base64.
    expect(c.credential).toBe(createHmac('sha1', 's3cret-shared').update(c.username!).digest('base64'));
    expect(Buffer.from(c.credential!, 'base64')).toHaveLength(20);
  });

  it('differs per user and per secret', () => {
    const a = turnCredentials(settings, 'a', 0)!;
    const b = turnCredentials(settings, 'b', 0)!;
    const other = turnCredentials({ ...settings, secret: 'another-secret' }, 'a', 0)!;
    expect(a.credential).not.toBe(b.credential);
    expect(a.credential).not.toBe(other.credential);
  });

  it('gives nothing without a secret or without URLs', () => {
    expect(turnCredentials({ ...settings, secret: null }, 'a')).toBeUndefined();
    expect(turnCredentials({ ...settings, urls: [] }, 'a')).toBeUndefined();
  });
});
