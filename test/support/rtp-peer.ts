import dgram from 'node:dgram';

export interface ReceivedRtp {
  count: number;
  /** payload types seen */
  payloadTypes: Set<number>;
  ssrcs: Set<number>;
  /** "ip:port" of the senders */
  sources: Set<string>;
  /** the first payload byte of each packet: each RtpPeer fills its payload with its own `mark` */
  marks: Set<number>;
}

let nextMark = 0x20;

/**
 * The media side of a test "phone": a UDP socket on 127.0.0.1 that sends a 20 ms G.711 RTP stream (one SSRC,
 * rising sequence numbers and timestamps) to a target and counts the RTP it receives. Signalling is SIPp's: the
 * scenario puts this socket's port in its SDP.
 */
export class RtpPeer {
  readonly received: ReceivedRtp = {
    count: 0,
    payloadTypes: new Set(),
    ssrcs: new Set(),
    sources: new Set(),
    marks: new Set(),
  };
  private timer?: NodeJS.Timeout;
  private seq = Math.floor(Math.random() * 30000);
  private ts = Math.floor(Math.random() * 1e9);
  sent = 0;
  readonly ssrc = (Math.random() * 0xffffffff) >>> 0;
  /** This peer's payload fill byte: a forwarded stream keeps its payload, so the receiver can tell whose it is
   *  (a mediasoup Consumer rewrites SSRC, sequence numbers and timestamps, never the payload). */
  readonly mark = nextMark++;

  private constructor(
    private readonly sock: dgram.Socket,
    readonly port: number,
  ) {
    sock.on('message', (msg, rinfo) => {
      if (msg.length < 12 || msg[0]! >> 6 !== 2) return;
      const pt = msg[1]! & 0x7f;
      if (pt >= 72 && pt <= 79) return; // RTCP (RFC 5761 §4)
      this.received.count++;
      this.received.payloadTypes.add(pt);
      this.received.ssrcs.add(msg.readUInt32BE(8));
      this.received.sources.add(`${rinfo.address}:${rinfo.port}`);
      const cc = msg[0]! & 0x0f;
      const ext = (msg[0]! & 0x10) !== 0;
      let off = 12 + cc * 4;
      if (ext && msg.length >= off + 4) off += 4 + msg.readUInt16BE(off + 2) * 4;
      if (msg.length > off) this.received.marks.add(msg[off]!);
    });
  }

  static async open(): Promise<RtpPeer> {
    const sock = dgram.createSocket('udp4');
    await new Promise<void>((resolve, reject) => {
      sock.once('error', reject);
      sock.bind({ address: '127.0.0.1', port: 0 }, () => resolve());
    });
    return new RtpPeer(sock, sock.address().port);
  }

  /** Sends 20 ms packets of payload type `pt` (160 bytes, all `mark`) to ip:port until `stop()`. */
  send(ip: string, port: number, pt = 0): void {
    this.stop();
    const payload = Buffer.alloc(160, this.mark);
    const tick = (): void => {
      const h = Buffer.alloc(12);
      h[0] = 0x80;
      h[1] = pt & 0x7f;
      h.writeUInt16BE(this.seq & 0xffff, 2);
      h.writeUInt32BE(this.ts >>> 0, 4);
      h.writeUInt32BE(this.ssrc, 8);
      this.seq++;
      this.ts = (this.ts + 160) >>> 0;
      this.sent++;
      this.sock.send(Buffer.concat([h, payload]), port, ip);
    };
    tick();
    this.timer = setInterval(tick, 20);
  }

  stop(): void {
    clearInterval(this.timer);
    this.timer = undefined;
  }

  /** Resets the receive counters (to measure one phase of a call). */
  reset(): void {
    this.received.count = 0;
    this.received.payloadTypes.clear();
    this.received.ssrcs.clear();
    this.received.sources.clear();
    this.received.marks.clear();
  }

  close(): void {
    this.stop();
    this.sock.close();
  }
}

/** The RtpPeers of one test file: `peer()` opens one; `closeAll()` (in its afterAll) closes every one opened. */
export function rtpPeers(): { peer(): Promise<RtpPeer>; closeAll(): void } {
  const peers: RtpPeer[] = [];
  return {
    async peer() {
      const p = await RtpPeer.open();
      peers.push(p);
      return p;
    },
    closeAll() {
      for (const p of peers) p.close();
    },
  };
}
