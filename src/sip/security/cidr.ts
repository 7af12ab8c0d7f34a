import { BlockList, isIP } from 'node:net';

/** One parsed `address[/prefix]` entry of an allow or deny list. */
export interface Cidr {
  address: string;
  prefix: number;
  family: 'ipv4' | 'ipv6';
}

/**
 * Parses `192.0.2.0/24`, `2001:db8::/32` or a bare address (a /32 or /128). Throws with the entry in the message:
 * the config schema turns that into an exit naming the key.
 */
export function parseCidr(entry: string): Cidr {
  const [addr, bits, extra] = entry.trim().split('/');
  const version = isIP(addr ?? '');
  if (extra !== undefined || !addr || version === 0) throw new Error(`not an IP address or CIDR: ${entry}`);
  const max = version === 4 ? 32 : 128;
  const prefix = bits === undefined ? max : Number(bits);
  if (!/^\d{1,3}$/.test(bits ?? String(max)) || prefix < 0 || prefix > max)
    throw new Error(`bad prefix length in ${entry} (0-${max})`);
  return { address: addr, prefix, family: version === 4 ? 'ipv4' : 'ipv6' };
}

/**
 * A list of IPv4 and IPv6 networks (Node's `BlockList`, which also matches IPv4-mapped IPv6 addresses such as
 * `::ffff:192.0.2.1` against IPv4 entries, as a dual-stack socket reports them).
 */
export class CidrList {
  private readonly list = new BlockList();
  readonly size: number;

  constructor(entries: readonly string[]) {
    for (const e of entries) {
      const c = parseCidr(e);
      this.list.addSubnet(c.address, c.prefix, c.family);
    }
    this.size = entries.length;
  }

  has(address: string): boolean {
    if (this.size === 0) return false;
    const v = isIP(address);
    if (v === 0) return false;
    return this.list.check(address, v === 4 ? 'ipv4' : 'ipv6');
  }
}
