// Tries mediasoup's own prebuilt worker release, exactly as mediasoup's
// postinstall does (same release address, derived from its package.json, and
// same file name), with a short timeout. Run with cwd = node_modules/mediasoup.
// Exit 0 when worker/out/Release/mediasoup-worker was extracted, 1 otherwise.
import fs from 'node:fs';
import os from 'node:os';
import { Readable } from 'node:stream';
import { pipeline } from 'node:stream/promises';
import { createRequire } from 'node:module';

const require = createRequire(`${process.cwd()}/package.json`);
const pkg = JSON.parse(fs.readFileSync('package.json', 'utf8'));
const tar = require('tar');

let name = `mediasoup-worker-${pkg.version}-${os.platform()}-${os.arch()}`;
if (os.platform() === 'linux') name += `-kernel${Number(os.release().split('.')[0])}`;
const base =
  process.env.MEDIASOUP_WORKER_PREBUILT_DOWNLOAD_BASE_URL ??
  `${pkg.repository.url.replace(/^git\+/, '').replace(/\.git$/, '')}/releases/download`;
const url = `${base}/${pkg.version}/${name}.tgz`;

try {
  const res = await fetch(url, { signal: AbortSignal.timeout(45_000) });
  if (!res.ok || !res.body) throw new Error(`HTTP ${res.status}`);
  fs.mkdirSync('worker/out/Release', { recursive: true });
  await pipeline(Readable.fromWeb(res.body), tar.extract({ cwd: 'worker/out/Release', strict: true }));
  fs.chmodSync('worker/out/Release/mediasoup-worker', 0o755);
  process.exit(0);
} catch (err) {
  console.log(`[build-mediasoup-worker] prebuilt download failed: ${err.cause?.code ?? err.message}`);
  process.exit(1);
}
