/**
 * Shared by the webinar e2e tests (webinar-*.test.ts): a server with one webinar room, tone phones that dial it with
 * a role PIN, and a wait for a participant in a given state.
 */
import { startE2eParley, sleep, type E2eParley } from '../support/parley-e2e';
import { SipPhone } from '../support/sip-phone';

/** Starts the built server with the one room `name`, a webinar with these settings. */
export function startWebinarParley(
  name: string,
  webinar: Record<string, unknown>,
  env?: Record<string, string>,
): Promise<E2eParley> {
  return startE2eParley({
    conference: {
      // No chime, no "you are the only participant": nothing but the tones in what the phones hear.
      joinTones: false,
      rooms: [{ name, webinar }],
    },
    env,
  });
}

/**
 * The helpers of one test file: `parley` is read when called (the server starts in beforeAll), and every phone
 * dialled goes into `phones` (closed by the file's afterAll).
 */
export function webinarHelpers<P extends { displayName: string }>(ctx: {
  parley: () => E2eParley;
  room: string;
  phones: SipPhone[];
}) {
  /** A PCMU tone phone that calls the room and types `pin#` (RFC 4733) once the PIN prompt has started. */
  async function dialWithPin(user: string, tone: number, pin: string): Promise<SipPhone> {
    const phone = await SipPhone.call({
      target: `sip:${ctx.room}@127.0.0.1:${ctx.parley().sipPort}`,
      user,
      codec: 'PCMU',
      tone,
    });
    ctx.phones.push(phone);
    await sleep(500);
    await phone.rfc4733(`${pin}#`);
    return phone;
  }

  /** Waits until the participant `name` matches `pred`, and returns it. */
  async function party(name: string, pred: (p: P) => boolean): Promise<P> {
    const l = (await ctx
      .parley()
      .waitParticipants(ctx.room, (ps) =>
        (ps as unknown as P[]).some((p) => p.displayName === name && pred(p)),
      )) as unknown as P[];
    return l.find((p) => p.displayName === name)!;
  }

  return { dialWithPin, party };
}
