// Builds the browser pages (web/) into dist/web/: esbuild bundles each page's TypeScript (Preact, mediasoup-client,
// socket.io-client: nothing is fetched at runtime) and the stylesheet into dist/web/assets/ under content-hashed
// names (served with a long cache), minified, with linked source maps; the HTML templates of web/static/ get those
// names and land in dist/web/. No inline script or style anywhere (the pages run under a strict CSP).
//
//   node scripts/build-web.mjs [--outdir DIR] [--dev]
import fs from 'node:fs';
import path from 'node:path';
import { fileURLToPath } from 'node:url';
import * as esbuild from 'esbuild';

const root = path.resolve(path.dirname(fileURLToPath(import.meta.url)), '..');
const args = process.argv.slice(2);
const outdir = path.resolve(
  args.includes('--outdir') ? args[args.indexOf('--outdir') + 1] : path.join(root, 'dist/web'),
);
const dev = args.includes('--dev');

const pages = {
  join: { entry: 'web/src/join/main.tsx', template: 'web/static/join.html' },
  room: { entry: 'web/src/room/main.tsx', template: 'web/static/room.html' },
  dashboard: { entry: 'web/src/dashboard/main.tsx', template: 'web/static/dashboard.html' },
  live: { entry: 'web/src/live/main.tsx', template: 'web/static/live.html' },
  404: { entry: null, template: 'web/static/404.html' },
};

fs.rmSync(outdir, { recursive: true, force: true });
fs.mkdirSync(path.join(outdir, 'assets'), { recursive: true });

const entryPoints = { app: path.join(root, 'web/static/app.css') };
for (const [name, p] of Object.entries(pages)) if (p.entry) entryPoints[name] = path.join(root, p.entry);

const result = await esbuild.build({
  entryPoints,
  outdir: path.join(outdir, 'assets'),
  entryNames: dev ? '[name]' : '[name]-[hash]',
  bundle: true,
  minify: !dev,
  sourcemap: 'linked',
  format: 'iife',
  target: ['chrome105', 'firefox110', 'safari15.4'],
  jsx: 'automatic',
  jsxImportSource: 'preact',
  tsconfig: path.join(root, 'web/tsconfig.json'),
  define: {
    'process.env.NODE_ENV': JSON.stringify(dev ? 'development' : 'production'),
  },
  legalComments: 'linked',
  metafile: true,
  logLevel: 'warning',
});

/** entry name → the URL of its output under /assets/ */
const assets = {};
for (const [out, meta] of Object.entries(result.metafile.outputs)) {
  if (!meta.entryPoint || out.endsWith('.map')) continue;
  const name = Object.keys(entryPoints).find((k) => path.resolve(root, meta.entryPoint) === entryPoints[k]);
  if (name) assets[name] = `/assets/${path.basename(out)}`;
}

for (const [name, p] of Object.entries(pages)) {
  const html = fs
    .readFileSync(path.join(root, p.template), 'utf8')
    .replaceAll('{{css}}', assets.app)
    .replaceAll('{{js}}', p.entry ? assets[name] : '');
  fs.writeFileSync(path.join(outdir, `${name}.html`), html);
}
fs.writeFileSync(path.join(outdir, 'manifest.json'), JSON.stringify(assets, null, 2) + '\n');
console.log(`web: ${Object.values(assets).join(' ')} → ${path.relative(process.cwd(), outdir) || '.'}`);
