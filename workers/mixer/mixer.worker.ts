/**
 * Entry of a Parley media worker thread (worker_threads). See MediaThreadHost for what it does.
 */
import { parentPort } from 'node:worker_threads';
import { MediaThreadHost } from './host/media-thread-host';
import { MixerRoomHost } from './host/mixer-room-host';
import type { MainToThread } from './protocol';

if (!parentPort) throw new Error('mixer.worker must run in a worker thread');
const port = parentPort;
const host = new MediaThreadHost((msg, transfer) => port.postMessage(msg, transfer));
new MixerRoomHost(host);
port.on('message', (msg: MainToThread) => void host.handle(msg));
port.on('close', () => void host.close());
port.postMessage({ kind: 'ready' });
