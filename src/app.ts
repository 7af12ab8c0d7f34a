import type { Logger } from 'pino';
import type { Config } from './config/schema';
import { HttpServer } from './http/http-server';
import { WorkerPool, routeMediasoupLogs } from './media/mediasoup/worker-pool';
import { projectRoot } from './util/project-root';
import fs from 'node:fs';
import path from 'node:path';

export const VERSION: string = (
  JSON.parse(fs.readFileSync(path.join(projectRoot(), 'package.json'), 'utf8')) as { version: string }
).version;

/**
 * The composition root: builds the layers bottom-up and injects them into each other; `close()` tears them down
 * top-down. Idempotent.
 */
export class App {
  private closing?: Promise<void>;

  private constructor(
    readonly config: Readonly<Config>,
    readonly log: Logger,
    readonly workers: WorkerPool,
    readonly http: HttpServer,
  ) {}

  static async create(config: Readonly<Config>, log: Logger): Promise<App> {
    routeMediasoupLogs(log);
    const workers = await WorkerPool.create({
      numWorkers: config.rtc.numWorkers,
      rtcMinPort: config.rtc.minPort,
      rtcMaxPort: config.rtc.maxPort,
      logLevel: config.rtc.workerLogLevel,
      logger: log,
    });
    let http: HttpServer;
    try {
      http = await HttpServer.create({
        ip: config.http.ip,
        port: config.http.port,
        version: VERSION,
        logger: log.child({ component: 'http' }),
        health: {
          health: () => {
            const list = workers.status();
            return { ok: list.length > 0 && list.every((w) => w.alive), workers: list };
          },
        },
      });
    } catch (err) {
      workers.close();
      throw err;
    }
    log.info({ http: `${config.http.ip}:${http.port}`, workers: workers.size }, 'parley started');
    return new App(config, log, workers, http);
  }

  close(): Promise<void> {
    this.closing ??= (async () => {
      await this.http.close();
      this.workers.close();
      this.log.info('parley stopped');
    })();
    return this.closing;
  }
}
