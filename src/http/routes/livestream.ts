import fs from 'node:fs';
import path from 'node:path';
import { Router, type Request } from 'express';
import { z } from 'zod';
import type { Conference } from '../../conference/conference';
import { AppError } from '../../errors/app-error';
import type { LivestreamService } from '../../livestream/livestream-service';
import type { ModerationService } from '../../moderation/moderation-service';
import { roomName } from '../../protocol/rtc-protocol';
import { roomActorOf } from '../principal';
import { parseBody } from './auth';
import { PAGE_CSP } from './web';

const StartBody = z
  .object({
    rtmp: z.array(z.string().min(1).max(2048)).max(10).optional(),
    hls: z.boolean().optional(),
    record: z.boolean().optional(),
    layout: z.enum(['speaker', 'grid']).optional(),
  })
  .strict();

export interface LivestreamRouterOptions {
  conference: Conference;
  moderation: ModerationService;
  livestreams: LivestreamService;
}

/**
 * A room's livestream over REST (authorised and audited through `ModerationService`, like every room command):
 * POST   /api/rooms/:id/livestream   {"rtmp"?: ["rtmp://…", "rtmps://…"], "hls"?: true, "record"?: true} (at least
 *                                    one; "layout"?: "speaker" (default) | "grid") → 201 the stream's view (400 LIVESTREAM_NO_OUTPUT / LIVESTREAM_BAD_URL,
 *                                    409 LIVESTREAM_ALREADY_LIVE, 503 LIVESTREAM_TOO_MANY)
 * GET    /api/rooms/:id/livestream   its state, outputs (stream keys redacted), since, restarts, last error
 *                                    (404 LIVESTREAM_NOT_LIVE when it was never started)
 * DELETE /api/rooms/:id/livestream   stops it → its final view (404 LIVESTREAM_NOT_LIVE)
 */
export function livestreamRouter(opts: LivestreamRouterOptions): Router {
  const { conference, moderation, livestreams } = opts;
  const r = Router();
  r.post('/rooms/:id/livestream', async (req: Request<{ id: string }>, res) => {
    const actor = roomActorOf(moderation, req, res, 'livestream-start');
    const ask = parseBody(
      StartBody,
      req,
      '{"rtmp"?: ["rtmp://…"], "hls"?: true|false, "record"?: true|false, "layout"?: "speaker"|"grid"}',
    );
    await moderation.startLivestream(actor, req.params.id, ask);
    res.status(201).json(livestreams.view(conference.getRoom(req.params.id).id));
  });
  r.get('/rooms/:id/livestream', (req: Request<{ id: string }>, res) => {
    roomActorOf(moderation, req, res);
    const room = conference.getRoom(req.params.id);
    const view = livestreams.view(room.id);
    if (!view) throw new AppError('LIVESTREAM_NOT_LIVE');
    res.json(view);
  });
  r.delete('/rooms/:id/livestream', async (req: Request<{ id: string }>, res) => {
    await moderation.stopLivestream(roomActorOf(moderation, req, res, 'livestream-stop'), req.params.id);
    res.json(livestreams.view(req.params.id));
  });
  return r;
}

/**
 * The public side of HLS (no sign-in: a livestream is for an audience):
 * GET /live/:room               the viewer page (hls.js, bundled; the page's CSP)
 * GET /live/:room/index.m3u8    the live playlist (no-cache)
 * GET /live/:room/seg-N.ts      its segments
 * Files come only from the running stream's own temp dir, by names matching the two patterns: nothing else of
 * the disk is reachable. 404 when the room is not streaming HLS.
 */
export function livePagesRouter(opts: { livestreams: LivestreamService; distDir: string }): Router {
  const r = Router();
  let html: string | undefined;
  r.get('/live/:room', (req, res) => {
    res.setHeader('Content-Security-Policy', PAGE_CSP);
    res.setHeader('X-Content-Type-Options', 'nosniff');
    res.setHeader('Referrer-Policy', 'no-referrer');
    res.setHeader('Cache-Control', 'no-cache');
    if (!roomName.safeParse(req.params.room).success)
      return void res.status(404).type('text/plain').send('Not found\n');
    try {
      html ??= fs.readFileSync(path.join(opts.distDir, 'live.html'), 'utf8');
    } catch {
      return void res.status(503).type('text/plain').send('The web pages are not built (npm run build).\n');
    }
    res.type('html').send(html);
  });
  r.get('/live/:room/:file', (req, res) => {
    const file = req.params.file;
    const dir = opts.livestreams.stream(req.params.room)?.hlsDir;
    const playlist = file === 'index.m3u8';
    if (!dir || (!playlist && !/^seg-\d{1,9}\.ts$/.test(file)))
      return void res.status(404).type('text/plain').send('Not found\n');
    res.setHeader('X-Content-Type-Options', 'nosniff');
    res.setHeader('Access-Control-Allow-Origin', '*');
    res.setHeader('Cache-Control', playlist ? 'no-cache' : 'max-age=60');
    res.type(playlist ? 'application/vnd.apple.mpegurl' : 'video/mp2t');
    res.sendFile(path.join(dir, file), { dotfiles: 'deny' }, (err) => {
      if (err && !res.headersSent) res.status(404).type('text/plain').send('Not found\n');
    });
  });
  return r;
}
