import fs from 'node:fs';
import os from 'node:os';
import path from 'node:path';
import type { Logger } from 'pino';
import { App } from '../../src/app';
import { deepMerge, loadConfig } from '../../src/config/load';
import type { Config } from '../../src/config/schema';
import { silentLogger } from '../../src/logging/logger';

export interface InProcessApp {
  app: App;
  config: Readonly<Config>;
  /** Its temporary data directory (database, attachments), removed by `close()`. */
  dataDir: string;
  /** `http://127.0.0.1:<port>` */
  base: string;
  /** Closes the app and removes its data directory. Idempotent. */
  close(): Promise<void>;
}

/**
 * A whole Parley in this process, for integration tests that need the real App (SIP stack, mediasoup worker, media
 * thread, HTTP + socket.io, SQLite): SIP over UDP only on a free port, HTTP on port 0, one worker, 400 RTP ports
 * from `portBase` (+400 per jest worker, so files running side by side never collide: give each file its own base),
 * no join tones, a temporary data directory. `overrides` are merged over that, key by key.
 */
export async function startInProcessApp(o: {
  name: string;
  portBase: number;
  overrides?: Record<string, unknown>;
  log?: Logger;
}): Promise<InProcessApp> {
  const dataDir = fs.mkdtempSync(path.join(os.tmpdir(), `parley-${o.name}-`));
  const worker = Number(process.env.JEST_WORKER_ID ?? '1');
  const min = o.portBase + ((worker - 1) % 4) * 400;
  const base = {
    dataDir,
    log: { level: 'silent' },
    http: { ip: '127.0.0.1', port: 0 },
    sip: { listen: { ip: '127.0.0.1', udp: 0, tcp: null, tls: null, ws: null } },
    rtc: { numWorkers: 1, minPort: min, maxPort: min + 399 },
    webrtc: { port: 0 },
    conference: { joinTones: false },
    // Integration tests place all their calls from 127.0.0.1 at test rates: allow-listed like a trunk.
    security: { allow: ['127.0.0.1'] },
  };
  const config = loadConfig({ env: {}, overrides: deepMerge(base, o.overrides ?? {}) });
  let app: App;
  try {
    app = await App.create(config, o.log ?? silentLogger(), { print: () => undefined });
  } catch (err) {
    fs.rmSync(dataDir, { recursive: true, force: true });
    throw err;
  }
  let closing: Promise<void> | undefined;
  return {
    app,
    config,
    dataDir,
    base: `http://127.0.0.1:${app.http.port}`,
    close: () =>
      (closing ??= app.close().finally(() => fs.rmSync(dataDir, { recursive: true, force: true }))),
  };
}
