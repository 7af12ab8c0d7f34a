/**
 * Shared by the REST tests over the conference core (rest.test.ts, webinar/webinar-rest.test.ts): a real HTTP server
 * on port 0 with a real AuthService and ModerationService on the given store, the admin's API token `apiToken`.
 */
import type { Router } from 'express';
import { configSchema } from '../../../src/config/schema';
import { HttpServer } from '../../../src/http/http-server';
import { roomsRouter } from '../../../src/http/routes/rooms';
import { AuthService } from '../../../src/moderation/auth/auth-service';
import { ModerationService } from '../../../src/moderation/moderation-service';
import type { SqliteStore } from '../../../src/storage/sqlite/sqlite-store';
import { log, type TestConference } from './fakes';

/** The rooms router, then the routers `more` makes, under /api. */
export async function startRestServer(
  t: TestConference,
  store: SqliteStore,
  apiToken: string,
  more: (moderation: ModerationService) => Router[] = () => [],
): Promise<HttpServer> {
  const moderation = new ModerationService({
    conference: t.conference,
    audit: store.audit,
    rooms: store.rooms,
    log,
  });
  const auth = await AuthService.create({
    store,
    auth: configSchema.parse({ auth: { apiToken, adminPassword: 'admin-password' } }).auth,
    audit: moderation,
    isModeratorPin: (room, pin) => t.conference.isModeratorPin(room, pin),
    log,
  });
  return HttpServer.create({
    ip: '127.0.0.1',
    port: 0,
    version: 'test',
    logger: log,
    health: { health: () => ({ ok: true, workers: [] }) },
    authenticator: auth,
    api: [roomsRouter({ conference: t.conference, moderation }), ...more(moderation)],
  });
}
