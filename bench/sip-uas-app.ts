/**
 * The Parley SIP stack as a bare UAS for load tests: answers INVITE with 200 + a canned SDP, BYE and OPTIONS by
 * the stack's own defaults. No media. Usage: node dist/bench/sip-uas-app.js PORT [udp|tcp]
 */
import { SipStack } from '../src/sip/ua/sip-stack';

const SDP = [
  'v=0',
  'o=parley 1 1 IN IP4 127.0.0.1',
  's=bench',
  'c=IN IP4 127.0.0.1',
  't=0 0',
  'm=audio 40000 RTP/AVP 0',
  'a=rtpmap:0 PCMU/8000',
  '',
].join('\r\n');

async function main(): Promise<void> {
  const port = Number(process.argv[2] ?? 5070);
  const tcp = process.argv[3] === 'tcp';
  const stack = await SipStack.create({
    listen: { ip: '127.0.0.1', udp: tcp ? null : port, tcp: tcp ? port : null, tls: null, ws: null },
  });
  stack.onInvite((inv) => {
    inv.accept({ sdp: SDP }).catch(() => undefined);
  });
  process.stdout.write('ready\n');
  const stop = () => void stack.close().then(() => process.exit(0));
  process.on('SIGTERM', stop);
  process.on('SIGINT', stop);
}

void main();
