import { SipUri } from '../../sip/message/uri';
import { DialPolicy, DialPatternError, type DialTarget } from './dial-policy';

/** One outbound trunk of `sip.dialOut.trunks[]` (config/default.yaml documents every key). */
export interface TrunkSettings {
  name: string;
  /** Targets that go through this trunk: `security.dialOut.allow` pattern syntax (globs on user@host, or /regex/). */
  match: readonly string[];
  /** Outbound proxy (a pre-loaded Route, RFC 3261 §8.1.2), e.g. `sip:sbc.example.com;lr`; null: straight to the target. */
  proxy: string | null;
  /** Digest credentials for 401/407 challenges (RFC 3261 §22.2); null: challenges fail the call. */
  username: string | null;
  password: string | null;
  /** The user part of our From (the trunk's account or caller ID); null: the stack's default (`parley`). */
  fromUser: string | null;
  /** The host part of our From when `fromUser` is set; null: the target's host (the provider's domain). */
  fromDomain: string | null;
  /** This trunk's ring timeout; null: `sip.dialOut.ringTimeoutSeconds`. */
  ringTimeoutSeconds: number | null;
}

/** How one dial-out INVITE is sent: what the UAC needs on top of the Request-URI. */
export interface DialRoute {
  /** The trunk's name, null for a direct call. */
  trunk: string | null;
  /** Route header values, first hop first (the outbound proxy), empty for a direct call. */
  route: string[];
  auth?: { username: string; password: string };
  /** Our From (name-addr), absent for the stack's default. */
  from?: string;
  ringTimeoutMs: number;
}

/** A trunk that cannot be used as configured; `key` names the config key (`sip.dialOut.trunks[1].proxy`). */
export class TrunkConfigError extends Error {
  constructor(
    readonly key: string,
    why: string,
  ) {
    super(`${key}: ${why}`);
    this.name = 'TrunkConfigError';
  }
}

interface CompiledTrunk {
  settings: TrunkSettings;
  match: DialPolicy;
  route: string[];
}

/**
 * The dial-out routing table: the first trunk whose `match` accepts a target carries the call (its outbound proxy
 * as a pre-loaded Route, its credentials for challenges, its From); a target no trunk matches is called directly
 * (DNS/host of the Request-URI, RFC 3263) with the global ring timeout. Which targets may be called at all is
 * `security.dialOut.allow`'s business (DialPolicy), checked before this. Pure: no sockets, unit-tested.
 */
export class TrunkTable {
  private constructor(
    private readonly trunks: readonly CompiledTrunk[],
    private readonly ringTimeoutMs: number,
  ) {}

  /** An empty table: every call is direct. */
  static direct(ringTimeoutSeconds: number): TrunkTable {
    return new TrunkTable([], ringTimeoutSeconds * 1000);
  }

  /**
   * Compiles `sip.dialOut`; throws TrunkConfigError naming the first bad key (an unparsable proxy URI, a pattern
   * that does not compile, a password without a user, a name used twice), so a bad trunk stops the start.
   */
  static compile(trunks: readonly TrunkSettings[], ringTimeoutSeconds: number): TrunkTable {
    const names = new Set<string>();
    const compiled = trunks.map((t, i): CompiledTrunk => {
      const key = `sip.dialOut.trunks[${i}]`;
      if (names.has(t.name)) throw new TrunkConfigError(`${key}.name`, `trunk name "${t.name}" used twice`);
      names.add(t.name);
      if ((t.username === null) !== (t.password === null))
        throw new TrunkConfigError(
          `${key}.${t.username === null ? 'username' : 'password'}`,
          'username and password go together',
        );
      let match: DialPolicy;
      try {
        match = DialPolicy.compile(t.match);
      } catch (err) {
        const at = err instanceof DialPatternError ? `.match[${err.index}]` : '.match';
        throw new TrunkConfigError(`${key}${at}`, (err as Error).message);
      }
      return { settings: t, match, route: t.proxy === null ? [] : [proxyRoute(t.proxy, `${key}.proxy`)] };
    });
    return new TrunkTable(compiled, ringTimeoutSeconds * 1000);
  }

  /** How to send a call to `target`. */
  routeFor(target: DialTarget & { host: string }): DialRoute {
    const hit = this.trunks.find((t) => t.match.allows(withoutUnsafeParts(target)));
    if (!hit) return { trunk: null, route: [], ringTimeoutMs: this.ringTimeoutMs };
    const s = hit.settings;
    return {
      trunk: s.name,
      route: [...hit.route],
      ...(s.username !== null && s.password !== null
        ? { auth: { username: s.username, password: s.password } }
        : {}),
      ...(s.fromUser !== null ? { from: fromHeader(s.fromUser, s.fromDomain ?? target.host) } : {}),
      ringTimeoutMs: s.ringTimeoutSeconds !== null ? s.ringTimeoutSeconds * 1000 : this.ringTimeoutMs,
    };
  }

  get size(): number {
    return this.trunks.length;
  }
}

/**
 * The outbound proxy as a Route value. RFC 3261 §8.1.2: a pre-loaded route set is used as is; a proxy without `lr`
 * would be a strict router (§16.12.1.1: the Request-URI rewritten to it), which no trunk in practice is: `lr` is
 * added so the Request-URI stays the callee.
 */
function proxyRoute(proxy: string, key: string): string {
  let uri: SipUri;
  try {
    uri = SipUri.parse(proxy);
  } catch (err) {
    throw new TrunkConfigError(key, `not a SIP URI (${(err as Error).message})`);
  }
  if (uri.scheme !== 'sip' && uri.scheme !== 'sips')
    throw new TrunkConfigError(key, 'not a sip: or sips: URI');
  if (uri.headers.size > 0) throw new TrunkConfigError(key, 'header fields are not allowed in a proxy URI');
  if (!uri.params.has('lr')) uri.params.set('lr', null);
  return `<${uri.toString()}>`;
}

/** `<sip:user@host>` with the user escaped where RFC 3261 §25.1 wants it (a `+` caller ID stays as it is). */
function fromHeader(user: string, host: string): string {
  const escaped = user.replace(/[^A-Za-z0-9\-_.!~*'()&=+$,;?/]/g, (c) =>
    [...Buffer.from(c, 'utf8')].map((b) => `%${b.toString(16).toUpperCase().padStart(2, '0')}`).join(''),
  );
  return `<sip:${escaped}@${host}>`;
}

/** Trunk patterns read user@host only: the policy's refusals of maddr/headers are the allow-list's job, not ours. */
function withoutUnsafeParts(t: DialTarget): DialTarget {
  return { user: t.user, host: t.host };
}
