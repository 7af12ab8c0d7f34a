import { createHmac } from 'node:crypto';
import { signPayload, verifySignature } from '../../../../src/moderation/webhooks/webhook-signature';

const secret = 'a-secret-of-enough-length';
const body = '{"type":"room.created","room":{"id":"demo"}}';
const now = 1_800_000_000_000;
const ts = now / 1000;

describe('webhook signatures', () => {
  it('is sha256=<hex HMAC-SHA256 of "<timestamp>.<body>">, computed independently', () => {
    const hex = createHmac('sha256', secret).update(`${ts}.${body}`).digest('hex');
    expect(signPayload(secret, ts, body)).toBe(`sha256=${hex}`);
  });

  it('verifies with the secret, as a string or a Buffer body', () => {
    const signature = signPayload(secret, ts, body);
    expect(verifySignature({ secret, body, timestamp: String(ts), signature, now })).toBe(true);
    expect(verifySignature({ secret, body: Buffer.from(body), timestamp: String(ts), signature, now })).toBe(
      true,
    );
  });

  it('fails with another secret, a changed body or a changed timestamp', () => {
    const signature = signPayload(secret, ts, body);
    expect(
      verifySignature({ secret: 'another-secret-1234', body, timestamp: String(ts), signature, now }),
    ).toBe(false);
    expect(
      verifySignature({ secret, body: body.replace('demo', 'dem0'), timestamp: String(ts), signature, now }),
    ).toBe(false);
    expect(verifySignature({ secret, body, timestamp: String(ts + 1), signature, now })).toBe(false);
  });

  it('refuses a timestamp outside the tolerance (a replay), both ways', () => {
    const old = ts - 301;
    expect(
      verifySignature({
        secret,
        body,
        timestamp: String(old),
        signature: signPayload(secret, old, body),
        now,
      }),
    ).toBe(false);
    const ahead = ts + 301;
    expect(
      verifySignature({
        secret,
        body,
        timestamp: String(ahead),
        signature: signPayload(secret, ahead, body),
        now,
      }),
    ).toBe(false);
    expect(
      verifySignature({
        secret,
        body,
        timestamp: String(old),
        signature: signPayload(secret, old, body),
        now,
        toleranceSeconds: 400,
      }),
    ).toBe(true);
  });

  it.each([
    ['missing timestamp', undefined, 'sig'],
    ['repeated header', ['1', '2'], 'sig'],
    ['non-numeric timestamp', '17e8', 'sig'],
    ['missing prefix', String(ts), 'deadbeef'],
    ['short hex', String(ts), 'sha256=abcd'],
    ['non-hex', String(ts), `sha256=${'z'.repeat(64)}`],
  ])('a malformed header (%s) is simply invalid', (_what, timestamp, sig) => {
    const signature = sig === 'sig' ? signPayload(secret, ts, body) : sig;
    expect(verifySignature({ secret, body, timestamp, signature, now })).toBe(false);
  });
});
