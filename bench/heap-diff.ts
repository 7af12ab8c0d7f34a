/**
 * What grew between two V8 heap snapshots of the server: `node dist/bench/heap-diff.js A.heapsnapshot B.heapsnapshot`.
 *
 * Take them from a running server started with `NODE_OPTIONS="--heapsnapshot-signal=SIGUSR2 --diagnostic-dir=DIR"`
 * (the soak passes NODE_OPTIONS on: `NODE_OPTIONS=... node dist/bench/run.js soak`) with `kill -USR2 <server pid>`,
 * e.g. once after the warm-up and once at the end of the load. A snapshot costs the process its size in RSS for good
 * (the heap is walked and serialised), so a run with snapshots says nothing about RSS: use it to find WHAT is
 * retained, and a run without them for the RSS figures.
 *
 * Prints the growth of self size and count by node type and constructor name, and strings by what they hold (raw
 * SIP messages — the call ladder keeps them, SDP bodies, ids, others), largest growth first.
 */
import fs from 'node:fs';
import { printTable } from './lib/proc';

interface HeapSnapshot {
  snapshot: { meta: { node_fields: string[]; node_types: [string[], ...unknown[]] } };
  nodes: number[];
  strings: string[];
}

interface Tally {
  count: number;
  bytes: number;
}

/** Exported for the unit test: a snapshot's nodes grouped as `type:name` (strings by what they hold). */
export function tally(s: HeapSnapshot): Map<string, Tally> {
  const f = s.snapshot.meta.node_fields;
  const types = s.snapshot.meta.node_types[0];
  const [iType, iName, iSize] = [f.indexOf('type'), f.indexOf('name'), f.indexOf('self_size')];
  const out = new Map<string, Tally>();
  for (let i = 0; i < s.nodes.length; i += f.length) {
    const type = types[s.nodes[i + iType]!]!;
    const name = s.strings[s.nodes[i + iName]!] ?? '';
    const key = /string/.test(type) ? `string:${stringKind(name)}` : `${type}:${name.slice(0, 60)}`;
    const t = out.get(key) ?? { count: 0, bytes: 0 };
    t.count++;
    t.bytes += s.nodes[i + iSize]!;
    out.set(key, t);
  }
  return out;
}

function stringKind(v: string): string {
  if (/^(?:[A-Z]+ \S+ SIP\/2\.0|SIP\/2\.0 \d{3} )/.test(v)) return '(raw SIP message)';
  if (/^v=0\r?\n/.test(v)) return '(SDP body)';
  if (/^[0-9a-f-]{16,}$/i.test(v)) return '(id)';
  return v.length > 200 ? '(other, > 200 chars)' : '(other)';
}

export function diff(
  a: Map<string, Tally>,
  b: Map<string, Tally>,
): Array<{ what: string; count: number; kib: number }> {
  const keys = new Set([...a.keys(), ...b.keys()]);
  return [...keys]
    .map((k) => {
      const x = a.get(k) ?? { count: 0, bytes: 0 };
      const y = b.get(k) ?? { count: 0, bytes: 0 };
      return { what: k, count: y.count - x.count, kib: Math.round((y.bytes - x.bytes) / 102.4) / 10 };
    })
    .sort((p, q) => q.kib - p.kib);
}

function main(): void {
  const [fa, fb] = process.argv.slice(2).filter((x) => !x.startsWith('--'));
  if (!fa || !fb) {
    console.error('usage: node dist/bench/heap-diff.js A.heapsnapshot B.heapsnapshot');
    process.exit(2);
  }
  const read = (file: string): Map<string, Tally> =>
    tally(JSON.parse(fs.readFileSync(file, 'utf8')) as HeapSnapshot);
  const rows = diff(read(fa), read(fb));
  const total = rows.reduce((s, r) => s + r.kib, 0);
  printTable(
    `Heap growth ${fa} → ${fb}: ${(total / 1024).toFixed(2)} MiB self size in all`,
    rows.slice(0, 25).map((r) => ({ 'type:name': r.what, 'count Δ': r.count, 'self size Δ (KiB)': r.kib })),
  );
}

if (require.main === module) main();
