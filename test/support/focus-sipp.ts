import fs from 'node:fs';
import path from 'node:path';
import type { E2eParley } from './parley-e2e';
import { sleep } from './parley-e2e';
import { freePort, runSipp, type SippResult } from './sipp';

export const FOCUS_SCENARIOS = path.resolve(__dirname, '../fixtures/sipp/focus');

export interface FocusSippOptions {
  /** a file in test/fixtures/sipp/focus (e.g. 'uac-call.xml') or a built-in scenario name ('uac') */
  scenario: string;
  /** the room (Request-URI user) */
  room: string;
  /** `-key name value` pairs for the scenario ([name] in the XML); `out` is set by the helper */
  keys?: Record<string, string | number>;
  transport?: 'u1' | 't1';
  calls?: number;
  rate?: number;
  limit?: number;
  /** SIPp -d: the length of a bare <pause/> (ms) */
  pauseMs?: number;
  timeoutSec?: number;
  extraArgs?: string[];
}

export interface FocusSippRun {
  /** SIPp's own port (its Contact / Via / From) */
  port: number;
  /** Lines the scenario wrote with <exec command="echo ... >> [out]">, split on spaces. */
  events(): string[][];
  /** Resolves with the first event whose first word is `name`. */
  waitEvent(name: string, timeoutMs?: number): Promise<string[]>;
  done: Promise<FocusSippResult>;
}

export interface FocusSippResult extends SippResult {
  /** SIPp's -trace_err log (unexpected messages, failed checks) */
  errors: string;
  /** SIPp's -trace_msg log (every message sent and received) */
  messages: string;
  elapsedMs: number;
}

/** Starts one SIPp run against the e2e server; bounded by -m and -timeout (killed 5 s after that). */
export async function startFocusSipp(parley: E2eParley, o: FocusSippOptions): Promise<FocusSippRun> {
  const port = await freePort();
  const tag = `${path.basename(o.scenario, '.xml')}-${port}`;
  const out = path.join(parley.dir, `${tag}.out`);
  const errFile = path.join(parley.dir, `${tag}.err`);
  const msgFile = path.join(parley.dir, `${tag}.msg`);
  fs.writeFileSync(out, '');
  const keys = { ...o.keys, out };
  const args: string[] = ['-trace_err', '-error_file', errFile, '-trace_msg', '-message_file', msgFile];
  for (const [k, v] of Object.entries(keys)) args.push('-key', k, String(v));
  if (o.pauseMs !== undefined) args.push('-d', String(o.pauseMs));
  args.push(...(o.extraArgs ?? []));
  const started = Date.now();
  const scenario = o.scenario.endsWith('.xml') ? path.join(FOCUS_SCENARIOS, o.scenario) : o.scenario;
  const events = sippEvents(out);
  const done = runSipp({
    scenario,
    remote: `127.0.0.1:${parley.sipPort}`,
    transport: o.transport ?? 'u1',
    localPort: port,
    calls: o.calls ?? 1,
    ...(o.rate !== undefined ? { rate: o.rate } : {}),
    ...(o.limit !== undefined ? { limit: o.limit } : {}),
    timeoutSec: o.timeoutSec ?? 30,
    service: o.room,
    extraArgs: args,
    cwd: parley.dir,
  }).then((r) => ({
    ...r,
    errors: fs.existsSync(errFile) ? cleanErrors(fs.readFileSync(errFile, 'utf8')) : '',
    messages: fs.existsSync(msgFile) ? fs.readFileSync(msgFile, 'utf8') : '',
    elapsedMs: Date.now() - started,
  }));
  return sippRun(port, events, done);
}

/** The lines a scenario wrote to `out` with <exec command="echo ... >> [out]">, split on spaces. */
export function sippEvents(out: string): () => string[][] {
  return () =>
    fs
      .readFileSync(out, 'utf8')
      .split('\n')
      .filter((l) => l.trim())
      .map((l) => l.trim().split(/\s+/));
}

/** A SIPp run on `port` whose scenario writes `events()` and which ends with `done` (see FocusSippRun). */
export function sippRun(
  port: number,
  events: () => string[][],
  done: Promise<FocusSippResult>,
): FocusSippRun {
  let finished = false;
  void done.then(() => (finished = true));
  return {
    port,
    events,
    async waitEvent(name, timeoutMs = 10000) {
      const end = Date.now() + timeoutMs;
      for (;;) {
        const e = events().find((x) => x[0] === name);
        if (e) return e;
        if (Date.now() > end || finished) {
          const r = finished ? await done : undefined;
          throw new Error(
            `SIPp event "${name}" not seen; events ${JSON.stringify(events())}` +
              (r ? `; SIPp exited ${r.code}: ${r.errors}\n${r.messages.slice(-3000)}` : ''),
          );
        }
        await sleep(50);
      }
    },
    done,
  };
}

/** The status codes of the responses SIPp received, in order (from its -trace_msg log). */
export function receivedStatuses(messages: string): number[] {
  const out: number[] = [];
  const re = /message received[^\n]*\n+SIP\/2\.0 (\d{3})/g;
  let m: RegExpExecArray | null;
  while ((m = re.exec(messages))) out.push(Number(m[1]));
  return out;
}

/** The requests SIPp received (method names), in order. */
export function receivedRequests(messages: string): string[] {
  const out: string[] = [];
  const re = /message received[^\n]*\n+([A-Z]+) sip:/g;
  let m: RegExpExecArray | null;
  while ((m = re.exec(messages))) out.push(m[1]!);
  return out;
}

/** A received message (full text) whose first line starts with `startLine`, e.g. 'SIP/2.0 200' or 'BYE'. */
export function receivedMessage(messages: string, startLine: string, nth = 0): string | undefined {
  const hits = messages
    .split(/^-{10,}.*$/m)
    .filter((b) => /^\s*\S+ message received/.test(b))
    .map((b) => b.replace(/^\s*\S+ message received[^\n]*\n+/, ''))
    .filter((b) => b.startsWith(startLine));
  return hits[nth];
}

/**
 * SIPp's error log without its scheduling noise: "Overload warning: the minor watchdog timer ... tripped" says SIPp
 * itself was starved of CPU (a loaded 2-core machine), not that the peer misbehaved. Anything else stays.
 */
export function cleanErrors(text: string): string {
  const lines = text
    .split('\n')
    .filter((l) => l.trim() && !/Overload warning: the (minor|major) watchdog timer/.test(l));
  if (lines.every((l) => /^The following events occurred:$/.test(l.trim()))) return '';
  return lines.join('\n');
}

/**
 * The calls SIPp aborted because the focus's response arrived before SIPp, starved of CPU, had sent the request
 * that follows the INVITE at once (the CANCEL): "Aborting call on unexpected message ... while sending (index 1)".
 * A SIPp scheduling artefact on a loaded machine, not a focus error. Returns the Call-IDs and the error log
 * without those entries (and without their "Dead call ... aborted at index 1" echoes).
 */
export function sippStarvedAborts(errors: string): { callIds: string[]; rest: string } {
  const entries = errors.split(/(?=^\d{4}-\d{2}-\d{2}\t)/m);
  const callIds: string[] = [];
  const keep: string[] = [];
  for (const e of entries) {
    const abort = /Aborting call on unexpected message for Call-Id '([^']+)': while sending \(index 1\)/.exec(
      e,
    );
    if (abort) callIds.push(abort[1]!);
    else if (!/Dead call \S+ \(aborted at index 1\)/.test(e)) keep.push(e);
  }
  return { callIds, rest: cleanErrors(keep.join('')) };
}
