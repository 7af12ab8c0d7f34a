import net from 'node:net';

/**
 * dgram's address lookup for sockets that only ever send to IP literals (media sockets: addresses come from SDP or
 * from a packet's source). Node's default goes through dns.lookup, which answers an IP literal on the next tick:
 * a closure and a tick per RTP packet. This answers synchronously; a name (never expected here) is an error.
 */
export function literalLookup(
  address: string,
  _family: unknown,
  callback: (err: NodeJS.ErrnoException | null, address: string, family: number) => void,
): void {
  const family = net.isIP(address);
  if (family === 0) {
    const err: NodeJS.ErrnoException = new Error(`not an IP address: ${address}`);
    err.code = 'EINVAL';
    callback(err, address, 4);
    return;
  }
  callback(null, address, family);
}
