import dgram from 'node:dgram';
import net from 'node:net';
import { performance } from 'node:perf_hooks';
import type { AddMixerParticipantParams, CreateMixerRoomParams, CreateMixerRoomResult } from '../protocol';
import { literalLookup } from '../relay/literal-lookup';
import type { UdpRelay } from '../relay/udp-relay';
import { MixClock } from './mix-clock';
import { MixerRoom, MixerRoomError, type DirectIo } from './mixer-room';
import type { MediaThreadHost } from './media-thread-host';

/** The mixer rooms of one thread, as the thread host sees them. */
export interface RoomHostRegistry {
  readonly size: number;
  closeAll(): Promise<void>;
}

interface RoomSlot {
  room: MixerRoom;
  input: dgram.Socket;
  output: dgram.Socket;
  target: { ip: string; port: number } | null;
  /** Participants attached to a leg of this thread: their relay feeds the room (its sink) until removed. */
  legs: Map<string, UdpRelay>;
}

async function bind(ip: string): Promise<dgram.Socket> {
  const s = dgram.createSocket({ type: net.isIPv6(ip) ? 'udp6' : 'udp4', lookup: literalLookup });
  await new Promise<void>((resolve, reject) => {
    s.once('error', reject);
    s.bind({ address: ip, port: 0, exclusive: true }, () => {
      s.off('error', reject);
      resolve();
    });
  });
  try {
    s.setRecvBufferSize(1 << 20);
    s.setSendBufferSize(1 << 20);
  } catch {
    // capped by the kernel: fine
  }
  return s;
}

function close(s: dgram.Socket): Promise<void> {
  return new Promise((r) => {
    try {
      s.close(() => r());
    } catch {
      r();
    }
  });
}

/**
 * Hosts the mixer rooms of a thread: per room an input socket (the mixer-input PlainTransport sends every
 * participant's consumer RTP there) and an output socket (mixed RTP to the mixer-output PlainTransport), and ONE
 * 20 ms clock for all rooms of the thread (MixClock: drift-corrected, catch-up bounded).
 */
export class MixerRoomHost implements RoomHostRegistry {
  private readonly rooms = new Map<string, RoomSlot>();
  private readonly opening = new Set<string>();
  private clock: MixClock | null = null;
  private timer: NodeJS.Timeout | null = null;
  private closed = false;

  constructor(private readonly host: MediaThreadHost) {
    host.rooms = this;
    host.register('mixer.createRoom', (p) => this.createRoom(p));
    host.register('mixer.closeRoom', async (p) => {
      await this.closeRoom(p.roomId);
      return null;
    });
    host.register('mixer.connectOutput', (p) => {
      this.slot(p.roomId).target = { ip: p.ip, port: p.port };
      return null;
    });
    host.register('mixer.addParticipant', (p) => {
      const s = this.slot(p.roomId);
      const relay = this.legOf(p);
      s.room.addParticipant(p, relay ? this.attach(s, p.participantId, relay) : null);
      return null;
    });
    host.register('mixer.updateParticipant', (p) => {
      const s = this.slot(p.roomId);
      const relay = this.legOf(p);
      const prev = s.legs.get(p.participantId);
      if (prev && prev !== relay) this.detach(s, p.participantId);
      const io = relay
        ? prev === relay
          ? this.io.get(relay)!
          : this.attach(s, p.participantId, relay)
        : null;
      s.room.updateParticipant(p, io);
      return null;
    });
    host.register('mixer.removeParticipant', (p) => {
      const s = this.slot(p.roomId);
      this.detach(s, p.participantId);
      s.room.removeParticipant(p.participantId);
      return null;
    });
    host.register('mixer.setMuted', (p) => {
      this.slot(p.roomId).room.setMuted(p.participantId, p.muted);
      return null;
    });
    host.register('mixer.setGain', (p) => {
      this.slot(p.roomId).room.setGain(p.participantId, p.gain);
      return null;
    });
    host.register('mixer.play', (p) => {
      this.slot(p.roomId).room.play(p.participantId, p.playId, p.pcm, p.rate);
      return null;
    });
    host.register('mixer.announce', (p) => {
      this.slot(p.roomId).room.announce(p.pcm, p.rate);
      return null;
    });
    host.register('mixer.stopPlay', (p) => {
      this.slot(p.roomId).room.stopPlay(p.participantId);
      return null;
    });
    host.register('mixer.stats', (p) => {
      const clock = this.clock?.stats ?? { skipped: 0, lateMaxMs: 0 };
      return this.slot(p.roomId).room.stats(clock);
    });
  }

  get size(): number {
    return this.rooms.size;
  }

  /** The DirectIo of each attached relay (stable per relay, so updates can tell "same leg" apart). */
  private readonly io = new WeakMap<UdpRelay, DirectIo>();

  private legOf(p: AddMixerParticipantParams): UdpRelay | null {
    return p.leg === undefined ? null : this.host.relay(p.leg);
  }

  /** The leg's clear RTP feeds this room's participant; the participant's mix leaves through the leg. */
  private attach(s: RoomSlot, participantId: string, relay: UdpRelay): DirectIo {
    s.legs.set(participantId, relay);
    // Arrival times for the jitter buffer: monotonic and sub-millisecond (Date.now()'s 1 ms steps read as jitter).
    relay.core.setSink(
      (rtp) => s.room.pushInput(participantId, rtp, performance.now()),
      s,
      (rtcp, now) => s.room.pushRtcp(participantId, rtcp, now),
    );
    const io: DirectIo = {
      send: (pkt) => relay.core.sendRtpToPhone(pkt),
      sendRtcp: (pkt) => relay.core.sendRtcpToPhone(pkt),
    };
    this.io.set(relay, io);
    return io;
  }

  private detach(s: RoomSlot, participantId: string): void {
    const relay = s.legs.get(participantId);
    if (!relay) return;
    s.legs.delete(participantId);
    relay.core.clearSink(s);
  }

  async closeAll(): Promise<void> {
    this.closed = true;
    this.stopClock();
    await Promise.all([...this.rooms.keys()].map((id) => this.closeRoom(id)));
  }

  private slot(roomId: string): RoomSlot {
    const s = this.rooms.get(roomId);
    if (!s) throw new MixerRoomError(`no mixer room ${roomId}`, 'ENOENT');
    return s;
  }

  private async createRoom(p: CreateMixerRoomParams): Promise<CreateMixerRoomResult> {
    if (this.rooms.has(p.roomId) || this.opening.has(p.roomId)) {
      throw new MixerRoomError(`mixer room ${p.roomId} exists`, 'EEXIST');
    }
    this.opening.add(p.roomId);
    let input: dgram.Socket | undefined;
    let output: dgram.Socket | undefined;
    try {
      input = await bind(p.ip);
      output = await bind(p.ip);
    } catch (err) {
      if (input) await close(input);
      throw err;
    } finally {
      this.opening.delete(p.roomId);
    }
    const slot: RoomSlot = {
      input,
      output,
      target: null,
      legs: new Map(),
      room: new MixerRoom({
        roomId: p.roomId,
        rate: p.rate ?? 16000,
        send: (pkt) => {
          const t = slot.target;
          if (t) output!.send(pkt, t.port, t.ip);
        },
        notify: (n) => this.host.notify(n),
      }),
    };
    input.on('message', (msg) => slot.room.onInput(msg, performance.now()));
    const warn = (err: Error): void =>
      this.host.notify({
        kind: 'notification',
        event: 'log',
        level: 'warn',
        msg: 'mixer socket error',
        data: { roomId: p.roomId, err: err.message },
      });
    input.on('error', warn);
    output.on('error', warn);
    output.on('message', () => undefined); // RTCP from the output transport: not needed
    this.rooms.set(p.roomId, slot);
    this.startClock();
    return {
      inputIp: p.ip,
      inputPort: input.address().port,
      outputIp: p.ip,
      outputPort: output.address().port,
    };
  }

  private async closeRoom(roomId: string): Promise<void> {
    const s = this.rooms.get(roomId);
    if (!s) return;
    this.rooms.delete(roomId);
    for (const id of [...s.legs.keys()]) this.detach(s, id);
    s.room.close();
    await Promise.all([close(s.input), close(s.output)]);
    if (this.rooms.size === 0) this.stopClock();
  }

  private startClock(): void {
    if (this.timer || this.closed) return;
    this.clock = new MixClock(performance.now());
    const run = (): void => {
      this.timer = null;
      const clock = this.clock;
      if (!clock || this.rooms.size === 0) return;
      const { run: n, skip } = clock.due(performance.now());
      for (const s of this.rooms.values()) {
        for (let i = 0; i < skip; i++) s.room.skipTick();
        for (let i = 0; i < n; i++) {
          try {
            s.room.tick();
          } catch (err) {
            this.host.notify({
              kind: 'notification',
              event: 'log',
              level: 'error',
              msg: 'mixer tick failed',
              data: { roomId: s.room.roomId, err: (err as Error).message },
            });
          }
        }
      }
      if (this.rooms.size > 0 && !this.closed) this.timer = setTimeout(run, clock.delay(performance.now()));
    };
    this.timer = setTimeout(run, this.clock.delay(performance.now()));
  }

  private stopClock(): void {
    if (this.timer) clearTimeout(this.timer);
    this.timer = null;
    this.clock = null;
  }
}
