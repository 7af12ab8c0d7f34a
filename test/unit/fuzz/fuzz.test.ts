/**
 * Bounded fuzzing in CI (fast-check): the same properties `bench/fuzz.ts` runs with 50–100× the cases.
 * A failure prints fast-check's counterexample and seed; rerun with FUZZ_SEED=<seed> to reproduce.
 */
import { negotiate, SdpNegotiationError } from '../../../src/media/sdp';
import { fuzzProperties } from './fuzz-properties';

const SEED = Number(process.env.FUZZ_SEED ?? 1400);
/** CI case counts per property: the folder stays well under 30 s on a loaded 2-core machine */
const RUNS: Record<string, number> = { sip: 1500, transport: 1500, sdp: 600, protocol: 2000 };

describe(`fuzzing (seed ${SEED})`, () => {
  const props = fuzzProperties();
  it.each(props.map((p, i) => [p.name, Object.values(RUNS)[i]!, p] as const))(
    '%s (%i cases)',
    async (_n, runs, p) => {
      await p.run(runs, SEED);
    },
  );
});

describe('SDP inputs the fuzzing once broke', () => {
  const caps = () => ({ codecs: [] });
  it.each([
    ['a numeric-looking connection address', 'c=IN IP4 1\r\nt=0 0\r\nm=audio 4000 RTP/AVP 0\r\n'],
    [
      'a numeric fmtp config',
      'c=IN IP4 127.0.0.1\r\nt=0 0\r\nm=audio 4000 RTP/AVP 101\r\na=rtpmap:101 telephone-event/8000\r\na=fmtp:101 0\r\n',
    ],
  ])('%s throws only SdpNegotiationError', (_name, rest) => {
    const offer = `v=0\r\no=- 1 1 IN IP4 192.168.1.100\r\ns=-\r\n${rest}`;
    try {
      negotiate(offer, caps());
    } catch (e) {
      expect(e).toBeInstanceOf(SdpNegotiationError);
    }
  });
});
