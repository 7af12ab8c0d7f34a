import { CidrList } from './cidr';
import { TokenBucket } from './token-bucket';

/** What the guard says about a packet or request. Anything but `Pass` is dropped silently: no response at all. */
export enum GuardVerdict {
  Pass = 'pass',
  /** The source is on `security.deny`. */
  Denied = 'denied',
  /** The source is serving a ban. */
  Banned = 'banned',
  /** Over the source's request rate. */
  RateLimited = 'rate-limited',
  /** A known scanner's User-Agent. */
  Scanner = 'scanner',
}

export type DropReason = Exclude<GuardVerdict, GuardVerdict.Pass>;

export interface SourceGuardOptions {
  /** Sustained new requests per second per source (the bucket's refill rate). */
  requestsPerSecond: number;
  /** Requests a source may send at once (the bucket's capacity). */
  burst: number;
  /**
   * A source is banned once its excess (requests dropped for rate) reaches `requestsPerSecond × banAfterSeconds`:
   * that many seconds' worth of traffic over the limit. Excess is forgiven after `banAfterSeconds` without a drop.
   */
  banAfterSeconds: number;
  banSeconds: number;
  /** Never limited, never banned (trunks, PBXs): IP or CIDR, IPv4 and IPv6. */
  allow: readonly string[];
  /** Always dropped. */
  deny: readonly string[];
  /**
   * Case-insensitive substrings of User-Agent that mark a scanner. Its requests are dropped, and its second one
   * (however far apart: a scanner that gets no answer gives up after one request per run) bans the source.
   */
  scannerUserAgents: readonly string[];
  /** Milliseconds; tests pass a fake clock. */
  now?: () => number;
  /** Called once when a source gets banned (for the log). */
  onBan?: (address: string, untilMs: number, reason: DropReason) => void;
  /** Sources tracked at most; beyond it, sources in good standing are forgotten first. */
  maxSources?: number;
}

/** What the transport layer knows about a parsed request. */
export interface GuardedRequest {
  method: string;
  userAgent: string | undefined;
  /** A To tag: a request within a dialog (BYE, re-INVITE, ACK of a 2xx...). */
  inDialog: boolean;
}

export interface SourceGuardStats {
  dropped: Record<DropReason, number>;
  /** Bans ever imposed. */
  bans: number;
  /** Sources banned right now. */
  bansActive: number;
  /** Sources tracked. */
  sources: number;
}

interface SourceState {
  /** Out-of-dialog requests (INVITE, OPTIONS, REGISTER...). */
  fresh: TokenBucket;
  /**
   * ACKs and in-dialog requests draw on a bucket of their own, so a source flooding INVITEs cannot starve the ACK
   * or BYE of a call it already has (a PBX trunk behind one address). They are not exempt: a flood of to-tagged
   * garbage is limited (and banned) just the same.
   */
  dialog: TokenBucket;
  excess: number;
  lastDropAt: number;
  /** Requests with a scanner's User-Agent (never forgiven: the second one bans). */
  scannerHits: number;
  bannedUntil: number;
}

const DEFAULT_MAX_SOURCES = 100_000;
/** A scanner's User-Agent once may be a misconfigured phone; twice is a scan. */
const SCANNER_HITS_TO_BAN = 2;

/**
 * Per-source admission of SIP requests, like Kamailio's pike plus a scanner filter: a token bucket per source
 * address, silent drops over the limit, a temporary ban after sustained excess, allow and deny lists, and known
 * scanners' User-Agents dropped (and counted toward a ban). Pure and clock-injected; the transport layer asks it
 * twice: `checkPacket` before parsing (deny list and bans: a banned source costs one map lookup) and `checkRequest`
 * after (rate and User-Agent need the parsed request). Responses are never limited: they answer our own requests.
 */
export class SourceGuard {
  private readonly allow: CidrList;
  private readonly deny: CidrList;
  private readonly scanners: string[];
  private readonly sources = new Map<string, SourceState>();
  /** allow/deny verdicts per address: CIDR lists are matched once per address, not per packet. */
  private readonly listed = new Map<string, 'allow' | 'deny' | 'none'>();
  private readonly banned = new Set<string>();
  private readonly now: () => number;
  private readonly threshold: number;
  private readonly dropped: Record<DropReason, number> = {
    [GuardVerdict.Denied]: 0,
    [GuardVerdict.Banned]: 0,
    [GuardVerdict.RateLimited]: 0,
    [GuardVerdict.Scanner]: 0,
  };
  private bans = 0;

  constructor(private readonly opts: SourceGuardOptions) {
    this.allow = new CidrList(opts.allow);
    this.deny = new CidrList(opts.deny);
    this.scanners = opts.scannerUserAgents.map((s) => s.toLowerCase()).filter((s) => s.length > 0);
    this.now = opts.now ?? Date.now;
    this.threshold = Math.max(1, opts.requestsPerSecond * opts.banAfterSeconds);
  }

  /** Before parsing: deny list and bans. O(1) for a source seen before. */
  checkPacket(address: string): GuardVerdict {
    const listed = this.listing(address);
    if (listed === 'allow') return GuardVerdict.Pass;
    if (listed === 'deny') return this.drop(GuardVerdict.Denied);
    const s = this.sources.get(address);
    if (s && s.bannedUntil > 0) {
      if (s.bannedUntil > this.now()) return this.drop(GuardVerdict.Banned);
      // the ban is over: a clean slate
      this.sources.delete(address);
      this.banned.delete(address);
    }
    return GuardVerdict.Pass;
  }

  /** After parsing: scanner User-Agents, then the source's rate. */
  checkRequest(address: string, req: GuardedRequest): GuardVerdict {
    if (this.listing(address) === 'allow') return GuardVerdict.Pass;
    const now = this.now();
    const s = this.state(address, now);
    if (s.bannedUntil > now) return this.drop(GuardVerdict.Banned);
    if (req.userAgent !== undefined && this.isScanner(req.userAgent)) {
      if (++s.scannerHits >= SCANNER_HITS_TO_BAN) this.ban(address, s, now, GuardVerdict.Scanner);
      return this.drop(GuardVerdict.Scanner);
    }
    const bucket = req.inDialog || req.method === 'ACK' ? s.dialog : s.fresh;
    if (bucket.take(now)) return GuardVerdict.Pass;
    this.addExcess(address, s, now, 1, GuardVerdict.RateLimited);
    return this.drop(GuardVerdict.RateLimited);
  }

  /**
   * Counts `weight` requests' worth of excess against a source from above (a call refused by a per-source cap):
   * probing that the rate alone lets through still ends in a ban.
   */
  penalize(address: string, weight = 1): void {
    if (this.listing(address) !== 'none') return;
    const now = this.now();
    const s = this.state(address, now);
    if (s.bannedUntil <= now) this.addExcess(address, s, now, weight, GuardVerdict.RateLimited);
  }

  isScanner(userAgent: string): boolean {
    const ua = userAgent.toLowerCase();
    return this.scanners.some((s) => ua.includes(s));
  }

  isAllowed(address: string): boolean {
    return this.listing(address) === 'allow';
  }

  isBanned(address: string): boolean {
    const s = this.sources.get(address);
    return s !== undefined && s.bannedUntil > this.now();
  }

  stats(): SourceGuardStats {
    const now = this.now();
    for (const a of this.banned) if (!((this.sources.get(a)?.bannedUntil ?? 0) > now)) this.banned.delete(a);
    return {
      dropped: { ...this.dropped },
      bans: this.bans,
      bansActive: this.banned.size,
      sources: this.sources.size,
    };
  }

  private drop(reason: DropReason): GuardVerdict {
    this.dropped[reason]++;
    return reason;
  }

  private addExcess(address: string, s: SourceState, now: number, weight: number, reason: DropReason): void {
    if (now - s.lastDropAt >= this.opts.banAfterSeconds * 1000) s.excess = 0;
    s.lastDropAt = now;
    s.excess += weight;
    if (s.excess >= this.threshold) this.ban(address, s, now, reason);
  }

  private ban(address: string, s: SourceState, now: number, reason: DropReason): void {
    s.bannedUntil = now + this.opts.banSeconds * 1000;
    s.excess = 0;
    s.scannerHits = 0;
    this.bans++;
    this.banned.add(address);
    this.opts.onBan?.(address, s.bannedUntil, reason);
  }

  private state(address: string, now: number): SourceState {
    let s = this.sources.get(address);
    if (!s) {
      if (this.sources.size >= (this.opts.maxSources ?? DEFAULT_MAX_SOURCES)) this.evict(now);
      const { requestsPerSecond: rate, burst } = this.opts;
      s = {
        fresh: new TokenBucket(rate, burst, now),
        dialog: new TokenBucket(rate, burst, now),
        excess: 0,
        lastDropAt: -Infinity,
        scannerHits: 0,
        bannedUntil: 0,
      };
      this.sources.set(address, s);
    }
    return s;
  }

  /** Forgets sources in good standing (full buckets, no ban); bans are never forgotten before they expire. */
  private evict(now: number): void {
    for (const [a, s] of this.sources) {
      if (s.bannedUntil > now) continue;
      if (s.bannedUntil === 0 && !(s.fresh.isFull(now) && s.dialog.isFull(now))) continue;
      this.sources.delete(a);
    }
    if (this.sources.size >= (this.opts.maxSources ?? DEFAULT_MAX_SOURCES))
      for (const [a, s] of this.sources) if (!(s.bannedUntil > now)) this.sources.delete(a);
  }

  private listing(address: string): 'allow' | 'deny' | 'none' {
    let v = this.listed.get(address);
    if (v === undefined) {
      v = this.allow.has(address) ? 'allow' : this.deny.has(address) ? 'deny' : 'none';
      if (this.listed.size >= (this.opts.maxSources ?? DEFAULT_MAX_SOURCES)) this.listed.clear();
      this.listed.set(address, v);
    }
    return v;
  }
}
