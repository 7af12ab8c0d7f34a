/** scrypt password hashes: the stored format, verification, and refusal of malformed or absurd hashes. */
import crypto from 'node:crypto';
import {
  hashPassword,
  randomSecret,
  sha256Hex,
  verifyPassword,
} from '../../../../src/moderation/auth/password';

describe('password hashing (scrypt)', () => {
  it('stores scrypt$N$r$p$salt$hash with N=16384 r=8 p=1 and a fresh salt each time', async () => {
    const a = await hashPassword('correct horse');
    const b = await hashPassword('correct horse');
    expect(a).toMatch(/^scrypt\$16384\$8\$1\$[A-Za-z0-9+/=]+\$[A-Za-z0-9+/=]+$/);
    expect(a).not.toBe(b);
    expect(a).not.toContain('correct horse');
    // the hash is what scrypt derives from the stored salt
    const [, , , , salt, hash] = a.split('$');
    const key = crypto.scryptSync('correct horse', Buffer.from(salt!, 'base64'), 32, {
      N: 16384,
      r: 8,
      p: 1,
    });
    expect(key.toString('base64')).toBe(hash);
  });

  it('verifies the right password only', async () => {
    const h = await hashPassword('s3cret-pass');
    expect(await verifyPassword('s3cret-pass', h)).toBe(true);
    expect(await verifyPassword('s3cret-pasS', h)).toBe(false);
    expect(await verifyPassword('', h)).toBe(false);
  });

  it('verifies hashes made with other cost parameters (they travel with the hash)', async () => {
    const salt = crypto.randomBytes(16);
    const key = crypto.scryptSync('pw', salt, 32, { N: 1024, r: 4, p: 2 });
    const h = `scrypt$1024$4$2$${salt.toString('base64')}$${key.toString('base64')}`;
    expect(await verifyPassword('pw', h)).toBe(true);
  });

  it('never matches a malformed hash, and refuses absurd parameters instead of running them', async () => {
    for (const bad of [
      '',
      'plain',
      'bcrypt$x',
      'scrypt$16384$8$1$$',
      'scrypt$99999999$8$1$AAAA$AAAA',
      'scrypt$a$b$c$AAAA$AAAA',
    ])
      expect(await verifyPassword('pw', bad)).toBe(false);
  });

  it('hashes secrets with SHA-256 (hex) and makes 32-byte random secrets', () => {
    expect(sha256Hex('abc')).toBe('ba7816bf8f01cfea414140de5dae2223b00361a396177a9cb410ff61f20015ad');
    const s = randomSecret();
    expect(Buffer.from(s, 'base64url')).toHaveLength(32);
    expect(randomSecret()).not.toBe(s);
  });
});
