import fs from 'node:fs';
import os from 'node:os';
import path from 'node:path';
import YAML from 'yaml';
import { ConfigError, loadConfig, DEFAULT_CONFIG_FILE } from '../../../src/config/load';
import { configSchema } from '../../../src/config/schema';

function tmpYaml(text: string): string {
  const f = path.join(fs.mkdtempSync(path.join(os.tmpdir(), 'parley-cfg-')), 'c.yaml');
  fs.writeFileSync(f, text);
  return f;
}

describe('config', () => {
  it('config/default.yaml documents exactly the embedded defaults', () => {
    const fromFile = configSchema.parse(YAML.parse(fs.readFileSync(DEFAULT_CONFIG_FILE, 'utf8')));
    expect(fromFile).toEqual(configSchema.parse({}));
  });

  it('every schema key appears in config/default.yaml', () => {
    const text = fs.readFileSync(DEFAULT_CONFIG_FILE, 'utf8');
    const walk = (o: Record<string, unknown>): string[] =>
      Object.entries(o).flatMap(([k, v]) =>
        v && typeof v === 'object' && !Array.isArray(v) ? [k, ...walk(v as Record<string, unknown>)] : [k],
      );
    for (const key of walk(configSchema.parse({}) as unknown as Record<string, unknown>))
      expect(text).toMatch(new RegExp(`^\\s*${key}:`, 'm'));
  });

  it('loads defaults with the keys later layers need', () => {
    const c = loadConfig({ env: {} });
    expect(c.sip.listen).toEqual({ ip: '127.0.0.1', udp: 5060, tcp: 5060, tls: 5061, ws: 8088 });
    expect(c.http.port).toBe(8080);
    expect(c.rtc.listenIp).toBe('127.0.0.1');
    expect(c.rtc.announcedIp).toBe('127.0.0.1');
    expect(c.rtc.minPort).toBeLessThan(c.rtc.maxPort);
    expect(Object.isFrozen(c.sip.listen)).toBe(true);
  });

  it('applies --config file then environment overrides', () => {
    const f = tmpYaml('http:\n  port: 9000\nsip:\n  listen:\n    tls: null\n');
    const c = loadConfig({ file: f, env: { PARLEY_SIP_PORT: '5070', PARLEY_RTC_ANNOUNCED_IP: '127.0.0.2' } });
    expect(c.http.port).toBe(9000);
    expect(c.sip.listen.udp).toBe(5070);
    expect(c.sip.listen.tcp).toBe(5070);
    expect(c.sip.listen.tls).toBeNull();
    expect(c.rtc.announcedIp).toBe('127.0.0.2');
  });

  it.each([
    ['http:\n  port: 70000\n', 'http.port'],
    ['sip:\n  listen:\n    ip: not-an-ip\n', 'sip.listen.ip'],
    ['sip:\n  lisen: {}\n', 'sip.lisen'],
    ['rtc:\n  minPort: 50000\n  maxPort: 40000\n', 'rtc.minPort'],
    ['conference:\n  rooms:\n    - name: "bad room"\n', 'conference.rooms.0.name'],
    ['conference:\n  rooms:\n    - name: a\n    - name: a\n', 'conference.rooms'],
    ['webrtc:\n  port: -1\n', 'webrtc.port'],
    ['webrtc:\n  listen: []\n', 'webrtc.listen'],
    ['webrtc:\n  listen:\n    - ip: nowhere\n', 'webrtc.listen.0.ip'],
    ['webrtc:\n  iceServers:\n    - urls: ["http://stun.example.org"]\n', 'webrtc.iceServers.0.urls.0'],
    ['webrtc:\n  turn:\n    urls: ["turn:127.0.0.1:3478"]\n', 'webrtc.turn.secret'],
    ['webrtc:\n  turn:\n    ttlSeconds: 5\n', 'webrtc.turn.ttlSeconds'],
    ['webrtc:\n  reconnectGraceSeconds: -3\n', 'webrtc.reconnectGraceSeconds'],
    ['chat:\n  attachmentMaxBytes: 0\n', 'chat.attachmentMaxBytes'],
    ['chat:\n  historySize: 0\n', 'chat.historySize'],
    ['livestream:\n  rtmpsCaFile: /nonexistent/ca.pem\n', 'livestream.rtmpsCaFile'],
    ['livestream:\n  rtmpsCaFile: /etc\n', 'livestream.rtmpsCaFile'],
  ])('rejects %j naming the key %s', (yaml, key) => {
    const f = tmpYaml(yaml);
    let err: unknown;
    try {
      loadConfig({ file: f, env: {} });
    } catch (e) {
      err = e;
    }
    expect(err).toBeInstanceOf(ConfigError);
    expect((err as Error).message).toContain(key);
  });

  it('reads the TURN URLs (comma-separated) and secret from the environment', () => {
    const c = loadConfig({
      env: {
        PARLEY_TURN_URLS: 'turn:127.0.0.1:3478?transport=udp, turns:turn.example.org:5349',
        PARLEY_TURN_SECRET: 'a-long-secret',
      },
    });
    expect(c.webrtc.turn.urls).toEqual(['turn:127.0.0.1:3478?transport=udp', 'turns:turn.example.org:5349']);
    expect(c.webrtc.turn.secret).toBe('a-long-secret');
  });

  it('rejects a non-numeric port in the environment, naming the variable', () => {
    expect(() => loadConfig({ env: { PARLEY_HTTP_PORT: 'eighty' } })).toThrow(/PARLEY_HTTP_PORT/);
  });
});
