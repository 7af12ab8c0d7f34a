/**
 * The built server as a real process: boots with embedded defaults (ports moved to free ones), answers
 * GET /healthz with its live mediasoup workers, shuts down cleanly on SIGTERM, and refuses a bad config naming the key.
 */
import fs from 'node:fs';
import os from 'node:os';
import path from 'node:path';
import { startParley } from '../../support/parley-process';

const PORTS = {
  PARLEY_HTTP_PORT: '0',
  PARLEY_SIP_UDP_PORT: '0',
  PARLEY_SIP_TCP_PORT: '0',
  PARLEY_SIP_TLS_PORT: '0',
  PARLEY_SIP_WS_PORT: '0',
  PARLEY_RTC_NUM_WORKERS: '2',
};

describe('parley process', () => {
  it('boots, answers /healthz and stops on SIGTERM', async () => {
    const p = startParley([], PORTS);
    const started = await p.waitForLog((l) => l.msg === 'parley started');
    const [, port] = String(started.http).split(':');
    const res = await fetch(`http://127.0.0.1:${port}/healthz`);
    expect(res.status).toBe(200);
    const body = (await res.json()) as {
      status: string;
      version: string;
      uptimeSeconds: number;
      workers: { alive: number; total: number };
    };
    expect(body.status).toBe('ok');
    expect(body.workers).toMatchObject({ alive: 2, total: 2 });
    expect(body.version).toMatch(/^\d+\.\d+\.\d+$/);
    expect(typeof body.uptimeSeconds).toBe('number');
    expect((await fetch(`http://127.0.0.1:${port}/nope`)).status).toBe(404);

    p.proc.kill('SIGTERM');
    const exit = await p.exit;
    expect(exit.code).toBe(0);
    expect(p.lines.some((l) => l.msg === 'parley stopped')).toBe(true);
  });

  it('reports a dead mediasoup worker on /healthz', async () => {
    const p = startParley([], { ...PORTS, PARLEY_RTC_NUM_WORKERS: '1' });
    const started = await p.waitForLog((l) => l.msg === 'parley started');
    const port = String(started.http).split(':')[1];
    const workerLine = await p.waitForLog((l) => l.msg === 'mediasoup worker started');
    process.kill(Number(workerLine.workerPid), 'SIGKILL');
    await p.waitForLog((l) => l.msg === 'mediasoup worker died');
    // The pool replaces the dead worker; health is ok again once the replacement is in service.
    await p.waitForLog((l) => l.msg === 'mediasoup worker replaced' && l.deadPid === workerLine.workerPid);
    const body = (await (await fetch(`http://127.0.0.1:${port}/healthz`)).json()) as {
      workers: { alive: number };
    };
    expect(body.workers.alive).toBe(1);
    p.proc.kill('SIGTERM');
    expect((await p.exit).code).toBe(0);
  });

  it('refuses to start with a bad config and names the key', async () => {
    const f = path.join(fs.mkdtempSync(path.join(os.tmpdir(), 'parley-')), 'bad.yaml');
    fs.writeFileSync(f, 'rtc:\n  minPort: "forty"\n');
    const p = startParley(['--config', f], PORTS);
    const exit = await p.exit;
    expect(exit.code).toBe(78);
    expect(exit.stderr).toContain('rtc.minPort');
  });
});
