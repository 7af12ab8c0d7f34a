import dgram from 'node:dgram';
import { silentLogger } from '../../../../src/logging/logger';
import type { Flow } from '../../../../src/sip/transport/transport';
import { UdpTransport } from '../../../../src/sip/transport/udp-transport';

describe('UdpTransport', () => {
  it('an exception in the receiver never escapes the transport; later datagrams still arrive', async () => {
    const got: Array<[string, Flow]> = [];
    let first = true;
    const t = new UdpTransport({ ip: '127.0.0.1', port: 0, logger: silentLogger() }, (data, flow) => {
      if (first) {
        first = false;
        throw new Error('receiver bug');
      }
      got.push([data.toString(), flow]);
    });
    await t.listen();
    expect(t.localPort).toBeGreaterThan(0);
    const client = dgram.createSocket('udp4');
    await new Promise<void>((r) => client.bind({ address: '127.0.0.1', port: 0 }, () => r()));
    client.send('one', t.localPort, '127.0.0.1');
    await new Promise((r) => setTimeout(r, 50));
    client.send('two', t.localPort, '127.0.0.1');
    for (let i = 0; i < 100 && got.length === 0; i++) await new Promise((r) => setTimeout(r, 10));
    expect(got.map(([d]) => d)).toEqual(['two']);
    expect(got[0]![1]).toMatchObject({ protocol: 'UDP', address: '127.0.0.1', port: client.address().port });
    client.close();
    await t.close();
    await t.close(); // idempotent
  });
});
