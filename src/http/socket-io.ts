import type http from 'node:http';
import { Server } from 'socket.io';

/**
 * The one socket.io server of Parley, on the HTTP server. Browsers' signalling (`/rtc`) and the moderator
 * dashboard (`/dashboard`) are namespaces of it: two `Server`s on one HTTP server would both answer the
 * `/socket.io/` path (the second one's upgrade handler sees sockets the first one already took). Built once by
 * the composition root and handed to each; the last of them to close it closes nothing twice (socket.io's
 * `close()` is idempotent on the engine).
 */
export function createSocketIoServer(httpServer: http.Server): Server {
  return new Server(httpServer, {
    serveClient: false,
    // Same-origin pages only: the pages are served by this server.
    cors: undefined,
    maxHttpBufferSize: 256 * 1024,
    pingInterval: 10_000,
    pingTimeout: 10_000,
  });
}
