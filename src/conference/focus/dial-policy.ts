/**
 * Which destinations dial-out may call (`security.dialOut.allow`): the toll-fraud guard. A stolen moderator
 * session or API token must not turn the server into a free trunk to premium numbers, so every dial-out target is
 * matched against an operator's allow-list before any INVITE is built.
 *
 * Pattern syntax (one of two forms, decided here once):
 * - a glob `user@host`: `*` matches any run of characters (also none), every other character itself. The user part
 *   is matched case-sensitively (SIP user parts are, RFC 3261 §19.1.4), the host part case-insensitively. A
 *   pattern without `@` names a host and allows any user on it (`pbx.example.com` = `*@pbx.example.com`).
 *   Examples: `*@pbx.example.com`, `1555*@trunk.example.com`, `*@[::1]`.
 * - a regular expression written `/.../` (flags `/.../i` allowed), matched against the whole `user@host` (anchored:
 *   `^(?:...)$`, so `/1555\d+@trunk\.example\.com/` cannot be satisfied by a longer host).
 * The subject is `user@host` with the host lower-cased (IPv6 in brackets as in the URI), without port, scheme or
 * parameters: a pattern allows a destination on every port and over `sip:` and `sips:`. A URI without a user part
 * is matched as `@host`.
 *
 * Some URIs are refused whatever the list says, because they would send the INVITE somewhere other than the host
 * that was matched: a `maddr` parameter (RFC 3261 §19.1.1: it overrides the host as the destination) and header
 * fields in the URI (`?Route=…`, §19.1.5: they would be copied into the request).
 */
export class DialPolicy {
  private constructor(private readonly rules: readonly DialRule[]) {}

  /** The default when `security.dialOut.allow` is not configured: this machine only (tests, a local PBX). */
  static readonly LOOPBACK_ONLY: readonly string[] = ['*@127.0.0.1', '*@localhost', '*@[::1]'];

  /** Compiles the patterns; throws DialPatternError naming the first invalid one (config validation uses it). */
  static compile(patterns: readonly string[]): DialPolicy {
    return new DialPolicy(patterns.map((p, i) => compileRule(p, i)));
  }

  /** Why `target` may not be dialled, or undefined when it may. */
  check(target: DialTarget): string | undefined {
    if (target.params?.has('maddr')) return 'a maddr parameter would redirect the call';
    if (target.headers && target.headers.size > 0) return 'header fields in the URI are not dialled';
    const subject = `${target.user ?? ''}@${target.host.toLowerCase()}`;
    if (this.rules.some((r) => r.test(subject))) return undefined;
    return `${subject} matches no pattern of security.dialOut.allow`;
  }

  allows(target: DialTarget): boolean {
    return this.check(target) === undefined;
  }
}

/** The parts of a SIP URI the policy reads (a `SipUri` is one). */
export interface DialTarget {
  user?: string | undefined;
  host: string;
  params?: ReadonlyMap<string, string | null>;
  headers?: ReadonlyMap<string, string>;
}

/** An invalid allow-list pattern; `index` is its position in the list. */
export class DialPatternError extends Error {
  constructor(
    readonly index: number,
    readonly pattern: string,
    why: string,
  ) {
    super(`pattern ${index} (${JSON.stringify(pattern)}): ${why}`);
    this.name = 'DialPatternError';
  }
}

interface DialRule {
  test(subject: string): boolean;
}

const REGEX_FORM = /^\/(.+)\/([i]*)$/s;

function compileRule(pattern: string, index: number): DialRule {
  if (pattern.trim() === '' || pattern !== pattern.trim())
    throw new DialPatternError(index, pattern, 'empty or surrounded by spaces');
  const re = REGEX_FORM.exec(pattern);
  if (re) {
    let rx: RegExp;
    try {
      rx = new RegExp(`^(?:${re[1]})$`, re[2]);
    } catch (err) {
      throw new DialPatternError(index, pattern, `not a valid regular expression: ${(err as Error).message}`);
    }
    return { test: (s) => rx.test(s) };
  }
  if (pattern.startsWith('/'))
    throw new DialPatternError(index, pattern, 'a regular expression is written /.../ (flag i allowed)');
  const at = pattern.lastIndexOf('@');
  const userGlob = at < 0 ? '*' : pattern.slice(0, at);
  const hostGlob = at < 0 ? pattern : pattern.slice(at + 1);
  if (hostGlob === '') throw new DialPatternError(index, pattern, 'no host after @');
  if (/[\s;?<>"]/.test(pattern))
    throw new DialPatternError(
      index,
      pattern,
      'a pattern is user@host only (no spaces, parameters or headers)',
    );
  const user = globToRegExp(userGlob, '');
  const host = globToRegExp(hostGlob.toLowerCase(), 'i');
  return {
    test: (s) => {
      const i = s.lastIndexOf('@');
      return user.test(s.slice(0, i)) && host.test(s.slice(i + 1));
    },
  };
}

function globToRegExp(glob: string, flags: string): RegExp {
  const body = glob
    .split('*')
    .map((part) => part.replace(/[.*+?^${}()|[\]\\]/g, '\\$&'))
    .join('.*');
  return new RegExp(`^${body}$`, flags);
}
