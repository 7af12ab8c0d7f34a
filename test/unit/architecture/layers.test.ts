/**
 * Keeps the layer direction: http/ signaling/ moderation/ livestream/ → conference/ → sip/ media/ storage/ →
 * util/ errors/ logging/ config/ protocol/. workers/ (mixer threads) import only workers/; web/ (the pages) imports
 * only src/protocol/ of the server's code. (ESLint enforces the same with no-restricted-imports; this test
 * also catches require() and dynamic import.)
 */
import fs from 'node:fs';
import path from 'node:path';

const root = path.resolve(__dirname, '../../..');
const RANK: Record<string, number> = {
  util: 0,
  errors: 0,
  logging: 0,
  config: 0,
  protocol: 0,
  sip: 1,
  media: 1,
  storage: 1,
  conference: 2,
  http: 3,
  signaling: 3,
  moderation: 3,
  livestream: 3,
};
/** Pairs of same-rank layers that must not know each other. */
const SIBLINGS_FORBIDDEN = new Set([
  'sip->media',
  'media->sip',
  'storage->sip',
  'storage->media',
  'sip->storage',
  'media->storage',
  // The REST routes use the moderation services (accounts, audit, actions); never the other way round.
  'moderation->http',
  'moderation->signaling',
  // The livestream is driven by the channels (REST, dashboard); it knows only the conference and media below.
  'livestream->http',
  'livestream->signaling',
  'livestream->moderation',
  // The protocol module is shared with the pages: it may use nothing of the server.
  'protocol->util',
  'protocol->errors',
  'protocol->logging',
  'protocol->config',
]);

function files(dir: string): string[] {
  if (!fs.existsSync(dir)) return [];
  return fs.readdirSync(dir, { withFileTypes: true }).flatMap((d) => {
    const p = path.join(dir, d.name);
    return d.isDirectory() ? files(p) : /\.tsx?$/.test(p) ? [p] : [];
  });
}

function imports(file: string): string[] {
  const src = fs.readFileSync(file, 'utf8');
  const out: string[] = [];
  const re = /(?:from\s+|import\s*\(\s*|require\s*\(\s*|import\s+)['"]([^'"]+)['"]/g;
  for (let m = re.exec(src); m; m = re.exec(src)) out.push(m[1]!);
  return out;
}

function layerOf(abs: string): string | undefined {
  const rel = path.relative(path.join(root, 'src'), abs);
  if (rel.startsWith('..')) return undefined;
  const top = rel.split(path.sep)[0]!;
  return top in RANK ? top : undefined;
}

describe('layer direction', () => {
  it('src/ layers import only downward', () => {
    const violations: string[] = [];
    for (const f of files(path.join(root, 'src'))) {
      const from = layerOf(f);
      if (!from) continue;
      for (const spec of imports(f)) {
        if (from === 'sip' && /^mediasoup/.test(spec))
          violations.push(`${path.relative(root, f)} imports ${spec}`);
        if (!spec.startsWith('.')) continue;
        const to = layerOf(path.resolve(path.dirname(f), spec));
        if (!to || to === from) continue;
        if (RANK[to]! > RANK[from]! || SIBLINGS_FORBIDDEN.has(`${from}->${to}`))
          violations.push(`${path.relative(root, f)} (${from}) imports ${spec} (${to})`);
      }
    }
    expect(violations).toEqual([]);
  });

  it('workers/ import only workers/ and Node built-ins or their own packages', () => {
    const violations: string[] = [];
    for (const f of files(path.join(root, 'workers'))) {
      for (const spec of imports(f)) {
        if (spec.startsWith('.')) {
          const target = path.resolve(path.dirname(f), spec);
          if (path.relative(path.join(root, 'workers'), target).startsWith('..'))
            violations.push(`${f}: ${spec}`);
        } else if (/^(mediasoup|express|socket\.io)/.test(spec)) violations.push(`${f}: ${spec}`);
      }
    }
    expect(violations).toEqual([]);
  });

  it('web/ imports only src/protocol/ of the server, and nothing server-only', () => {
    const violations: string[] = [];
    for (const f of files(path.join(root, 'web'))) {
      for (const spec of imports(f)) {
        if (spec.startsWith('.')) {
          const target = path.resolve(path.dirname(f), spec);
          const relSrc = path.relative(path.join(root, 'src'), target);
          if (!relSrc.startsWith('..') && !relSrc.startsWith('protocol')) violations.push(`${f}: ${spec}`);
          if (path.relative(root, target).split(path.sep)[0] === 'workers') violations.push(`${f}: ${spec}`);
        } else if (/^(mediasoup($|\/)|express|socket\.io$|pino|node:)/.test(spec))
          violations.push(`${f}: ${spec}`);
      }
    }
    expect(violations).toEqual([]);
  });

  it('the checker itself sees a violation', () => {
    // Guard against a checker that silently passes: this file is under test/, so judge a synthetic path.
    expect(layerOf(path.join(root, 'src/sip/x.ts'))).toBe('sip');
    expect(RANK['conference']! > RANK['sip']!).toBe(true);
  });
});
