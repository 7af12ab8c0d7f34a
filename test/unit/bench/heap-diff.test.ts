/**
 * bench/heap-diff: two real V8 heap snapshots of a child Node process, between which it retains 2,000 raw SIP
 * messages and 500 instances of a class; the diff must name both as the growth.
 */
import { execFileSync } from 'node:child_process';
import fs from 'node:fs';
import os from 'node:os';
import path from 'node:path';
import { diff, tally } from '../../../bench/heap-diff';

jest.setTimeout(60_000);

test('names the retained raw SIP messages and objects, by count', () => {
  const dir = fs.mkdtempSync(path.join(os.tmpdir(), 'heap-diff-'));
  try {
    const script = `
      const v8 = require('node:v8');
      class LeakyCall { constructor(i) { this.i = i; } }
      const a = v8.writeHeapSnapshot(${JSON.stringify(path.join(dir, 'a.heapsnapshot'))});
      globalThis.kept = [];
      for (let i = 0; i < 2000; i++)
        // flat strings, as a message read from a socket is (a concatenation would be a tree of parts)
        globalThis.kept.push(Buffer.from('INVITE sip:room' + i + '@127.0.0.1 SIP/2.0\\r\\nVia: SIP/2.0/UDP 127.0.0.1;branch=z9hG4bK' + i + '\\r\\n\\r\\n').toString());
      for (let i = 0; i < 500; i++) globalThis.kept.push(new LeakyCall(i));
      v8.writeHeapSnapshot(${JSON.stringify(path.join(dir, 'b.heapsnapshot'))});
    `;
    execFileSync(process.execPath, ['-e', script], { stdio: 'ignore' });
    const read = (f: string) => tally(JSON.parse(fs.readFileSync(path.join(dir, f), 'utf8')));
    const rows = diff(read('a.heapsnapshot'), read('b.heapsnapshot'));
    const sip = rows.find((r) => r.what === 'string:(raw SIP message)');
    const calls = rows.find((r) => r.what === 'object:LeakyCall');
    expect(sip?.count).toBeGreaterThanOrEqual(2000);
    expect(calls?.count).toBe(500);
    // largest growth first: the messages (≥ 2000 × ~80 bytes) come before the 500 small objects
    expect(rows.indexOf(sip!)).toBeLessThan(rows.indexOf(calls!));
  } finally {
    fs.rmSync(dir, { recursive: true, force: true });
  }
});
