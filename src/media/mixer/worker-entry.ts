import fs from 'node:fs';
import path from 'node:path';
import { Worker, type WorkerOptions } from 'node:worker_threads';

/**
 * Starts workers/mixer/mixer.worker in a new thread. Built (dist/src/media/mixer → dist/workers/mixer/*.js) it is
 * plain JS. Run from the TypeScript sources (jest/ts-jest, which cannot reach into a worker thread) the thread
 * first installs a tiny `.ts` require hook built on the `typescript` compiler's transpileModule (dev dependency),
 * so tests exercise the very same thread code without a build step.
 */
const TS_BOOTSTRAP = `
const { workerData } = require('node:worker_threads');
const Module = require('node:module');
const fs = require('node:fs');
const entry = workerData.__parleyEntry;
const ts = Module.createRequire(entry)('typescript');
const options = {
  module: ts.ModuleKind.CommonJS, target: ts.ScriptTarget.ES2022, esModuleInterop: true, inlineSourceMap: true,
};
Module._extensions['.ts'] = function (mod, filename) {
  const out = ts.transpileModule(fs.readFileSync(filename, 'utf8'), { compilerOptions: options, fileName: filename });
  mod._compile(out.outputText, filename);
};
require(entry);
`;

export function workerEntryPath(): { file: string; typescript: boolean } {
  const base = path.resolve(__dirname, '../../../workers/mixer/mixer.worker');
  if (fs.existsSync(`${base}.js`)) return { file: `${base}.js`, typescript: false };
  if (fs.existsSync(`${base}.ts`)) return { file: `${base}.ts`, typescript: true };
  throw new Error(`media worker entry not found at ${base}.{js,ts}`);
}

export function startMediaWorker(opts: Omit<WorkerOptions, 'eval'> = {}): Worker {
  const entry = workerEntryPath();
  if (!entry.typescript) return new Worker(entry.file, opts);
  return new Worker(TS_BOOTSTRAP, {
    ...opts,
    eval: true,
    workerData: { ...(opts.workerData as object | undefined), __parleyEntry: entry.file },
  });
}
