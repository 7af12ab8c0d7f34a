/** Identifiers: branch (RFC 3261 §8.1.1.7 magic cookie), tags (§19.3, ≥32 bits of randomness), Call-ID (§8.1.1.4). */
import { randomBytes } from 'node:crypto';

const POOL_SIZE = 4096;
let pool = randomBytes(POOL_SIZE);
let poolPos = 0;

function randomHex(bytes: number): string {
  if (poolPos + bytes > POOL_SIZE) {
    pool = randomBytes(POOL_SIZE);
    poolPos = 0;
  }
  const s = pool.toString('hex', poolPos, poolPos + bytes);
  poolPos += bytes;
  return s;
}

/** §8.1.1.7: branch MUST start with the magic cookie "z9hG4bK" and be unique across space and time. */
export const BRANCH_MAGIC_COOKIE = 'z9hG4bK';
export function newBranch(): string {
  return BRANCH_MAGIC_COOKIE + randomHex(10);
}

/** §19.3: tags MUST be globally unique and cryptographically random with at least 32 bits of randomness. */
export function newTag(): string {
  return randomHex(8);
}

/** §8.1.1.4: Call-ID; RECOMMENDED to be a cryptographically random identifier, optionally "@host". */
export function newCallId(host?: string): string {
  const id = randomHex(16);
  return host ? `${id}@${host}` : id;
}
