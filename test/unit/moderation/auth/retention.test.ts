/** Retention: prunes audit entries and CDRs past their configured ages and expired sessions, at start. */
import { silentLogger } from '../../../../src/logging/logger';
import { Retention } from '../../../../src/moderation/retention';
import { SqliteStore } from '../../../../src/storage/sqlite/sqlite-store';

const DAY = 86_400_000;

it('prunes at start by each kind’s own retention, and keeps what is younger', () => {
  const store = SqliteStore.open({ file: ':memory:' });
  const now = Date.parse('2026-06-01T00:00:00.000Z');
  const iso = (msAgo: number) => new Date(now - msAgo).toISOString();
  for (const age of [5, 15])
    store.audit.append({
      at: iso(age * DAY),
      actor: 'a',
      action: 'mute',
      roomId: null,
      target: null,
      source: null,
      outcome: 'ok',
      detail: null,
    });
  for (const [id, age] of [
    ['young', 20],
    ['old', 40],
  ] as const)
    store.cdrs.put({
      id,
      roomId: 'r',
      kind: 'sip',
      direction: 'inbound',
      displayName: 'x',
      uri: 'sip:x@y',
      callId: null,
      startedAt: iso(age * DAY + 60_000),
      answeredAt: null,
      endedAt: iso(age * DAY),
      durationSeconds: 60,
      codec: null,
      transport: 'udp',
      leaveReason: 'bye',
      quality: { loss: null, jitterMs: null, rttMs: null, mos: null },
    });
  store.sessions.create({
    idHash: 'expired',
    accountId: '',
    createdAt: iso(DAY),
    expiresAt: iso(1000),
    source: null,
    roomGrants: ['r'],
  });
  store.sessions.create({
    idHash: 'live',
    accountId: '',
    createdAt: iso(DAY),
    expiresAt: iso(-1000),
    source: null,
    roomGrants: ['r'],
  });

  const r = Retention.start({
    store,
    auditRetentionDays: 10,
    cdrRetentionDays: 30,
    log: silentLogger(),
    now: () => now,
  });
  r.close();
  r.close();
  expect(store.audit.query({ limit: 10, offset: 0 }).items.map((e) => e.at)).toEqual([iso(5 * DAY)]);
  expect(store.cdrs.query({ limit: 10, offset: 0 }).items.map((c) => c.id)).toEqual(['young']);
  expect(store.sessions.get('expired')).toBeUndefined();
  expect(store.sessions.get('live')).toBeDefined();
  expect(r.prune()).toEqual({ audit: 0, cdrs: 0, sessions: 0 });
  store.close();
});
