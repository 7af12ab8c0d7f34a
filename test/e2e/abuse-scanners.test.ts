/**
 * Issue 14, abuse: Debian's sipvicious (svmap, svwar, svcrack: the scanners real attackers run) against Parley on
 * loopback, with bounded ranges and timeouts. Their User-Agent
 * (`friendly-scanner`) is on `security.scannerUserAgents`: every request is dropped without an answer, so svmap
 * finds no server (let alone a version), svwar learns no extension (no room is created), svcrack no password, and
 * the scanner's address ends up banned. They scan from 127.0.0.1: sipvicious 0.3.3 honours `-b` (source address)
 * in svmap only (svwar and svcrack never pass it to their scanner), so this test allow-lists nothing.
 */
import { spawn } from 'node:child_process';
import { startE2eParley, type E2eParley } from '../support/parley-e2e';
import { stopAndReport } from './conference-helpers';

jest.setTimeout(180_000);

const SCANNER = '127.0.0.1';
let parley: E2eParley | undefined;

beforeAll(async () => {
  parley = await startE2eParley({
    // nothing allow-listed (not even 127.0.0.1, as the functional tests do); the second scanner request bans
    security: { requestsPerSecond: 10, burst: 20, banAfterSeconds: 2, banSeconds: 600 },
  });
});

afterAll(async () => {
  await stopAndReport(parley, __filename);
});

interface ToolRun {
  code: number | null;
  out: string;
}

/** Runs one sipvicious tool to completion (killed after `limitMs` at the latest: its own timeouts bound it first). */
function sv(tool: 'svmap' | 'svwar' | 'svcrack', args: string[], limitMs = 60_000): Promise<ToolRun> {
  return new Promise((resolve, reject) => {
    const child = spawn(tool, args, { stdio: ['ignore', 'pipe', 'pipe'] });
    let out = '';
    child.stdout.on('data', (d: Buffer) => (out += d.toString()));
    child.stderr.on('data', (d: Buffer) => (out += d.toString()));
    const timer = setTimeout(() => child.kill('SIGKILL'), limitMs);
    child.on('error', reject);
    child.on('close', (code) => {
      clearTimeout(timer);
      if (process.env.CONFERENCE_E2E_DEBUG) console.log(`${tool} ${args.join(' ')} → ${code}\n${out}`);
      resolve({ code, out });
    });
  });
}

async function roomNames(p: E2eParley): Promise<string[]> {
  const r = await p.api<
    Array<{ id?: string; name?: string }> | { rooms: Array<{ id?: string; name?: string }> }
  >('/api/rooms');
  expect(r.status).toBe(200);
  const list = Array.isArray(r.body) ? r.body : r.body.rooms;
  return list.map((room) => room.id ?? room.name ?? '');
}

test('svmap, svwar and svcrack learn nothing, and the scanner is banned', async () => {
  const p = parley!;
  const port = String(p.sipPort);
  const roomsBefore = await roomNames(p);

  const map = await sv('svmap', ['-p', port, '-t', '0.05', '127.0.0.1']);
  // no device found, so no User-Agent or Server string, no version
  expect(map.out).toMatch(/found nothing/);
  expect(map.out).not.toMatch(/parley/i);
  expect(map.out).not.toContain(`127.0.0.1:${port}`);

  const war = await sv('svwar', ['-p', port, '-t', '0.05', '-e', '100-140', '-m', 'INVITE', '127.0.0.1']);
  expect(war.out).toMatch(/found nothing/);
  expect(war.out).not.toMatch(/parley/i);
  // svwar's table of found extensions would list them with their "Authentication" column
  expect(war.out).not.toMatch(/\|\s*1[0-4][0-9]\s*\|/);
  expect(await roomNames(p)).toEqual(roomsBefore);

  const crack = await sv('svcrack', ['-p', port, '-t', '0.05', '-u', '100', '-r', '1000-1030', '127.0.0.1']);
  expect(crack.out).toMatch(/found nothing/);
  expect(crack.out).not.toMatch(/parley/i);
  expect(crack.out).not.toMatch(/\|\s*100\s*\|\s*10[0-3][0-9]\s*\|/);

  const bans = p.logs('source banned');
  expect(bans.map((b) => ({ address: b.address, reason: b.reason }))).toEqual([
    { address: SCANNER, reason: 'scanner' },
  ]);
  expect(await roomNames(p)).toEqual(roomsBefore);
});
