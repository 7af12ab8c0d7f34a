import { App } from './app';
import { ConfigError, loadConfig } from './config/load';
import { createLogger } from './logging/logger';
import { SafetyNet } from './safety-net';

/** `node dist/src/index.js [--config FILE]` */
function parseArgs(argv: string[]): { config?: string } {
  const out: { config?: string } = {};
  for (let i = 0; i < argv.length; i++) {
    const a = argv[i]!;
    if (a === '--config' || a === '-c') out.config = argv[++i];
    else if (a.startsWith('--config=')) out.config = a.slice('--config='.length);
    else if (a === '--help' || a === '-h') {
      process.stdout.write('usage: parley [--config FILE]\n');
      process.exit(0);
    } else {
      console.error(`parley: unknown argument ${a}`);
      process.exit(2);
    }
  }
  return out;
}

async function main(): Promise<void> {
  const args = parseArgs(process.argv.slice(2));
  let config;
  try {
    config = loadConfig({ file: args.config });
  } catch (err) {
    if (err instanceof ConfigError) {
      console.error(`parley: ${err.message}`);
      process.exit(78); // EX_CONFIG
    }
    throw err;
  }
  const log = createLogger({ level: config.log.level });
  const app = await App.create(config, log);
  // For the person who just typed the README's first command (the logs are JSON for machines).
  const web = `http://${config.http.ip.includes(':') ? `[${config.http.ip}]` : config.http.ip}:${app.http.port}`;
  const sipPort = config.sip.listen.udp ?? config.sip.listen.tcp;
  process.stderr.write(
    `\nParley is running.\n  Join from a browser:  ${web}/  (a room: ${web}/r/<room>)\n` +
      (sipPort ? `  Dial from a phone:    sip:<room>@${config.sip.listen.ip}:${sipPort}\n` : '') +
      `  Moderator dashboard:  ${web}/dashboard\n` +
      `  REST API:             ${web}/api/rooms  (sign in, or Authorization: Bearer <API token>)\n\n`,
  );
  let stopping = false;
  let draining = false;
  /**
   * The first SIGTERM drains (new calls refused, calls in progress kept until they end or `drain.deadlineSeconds`
   * passes), then stops; a second SIGTERM, or SIGINT, stops at once.
   */
  const drain = () => {
    if (draining || stopping) {
      stop('SIGTERM');
      return;
    }
    draining = true;
    log.info({ deadlineSeconds: config.drain.deadlineSeconds }, 'SIGTERM: draining');
    void app.drain().then(() => stop('drained'));
  };
  const stop = (signal: string, code = 0) => {
    if (stopping) return;
    stopping = true;
    log.info({ signal }, 'shutting down');
    const force = setTimeout(() => {
      log.error('shutdown took too long; exiting');
      process.exit(1);
    }, 10_000);
    force.unref();
    app.close().then(
      () => process.exit(code),
      (err: unknown) => {
        log.error({ err }, 'shutdown failed');
        process.exit(1);
      },
    );
  };
  process.on('SIGINT', () => stop('SIGINT'));
  process.on('SIGTERM', drain);
  // An exception in one call's handling never takes the others down; a storm of them stops the server (exit 70).
  // Installed once the App runs: an exception while starting still ends the process (main().catch below).
  new SafetyNet({ log, giveUp: (code) => stop('uncaught exceptions', code) }).install();
}

main().catch((err: unknown) => {
  console.error('parley: failed to start:', err);
  process.exit(1);
});
