import { randomInt } from 'node:crypto';

import * as sdpTransform from 'sdp-transform';

export interface SdpSessionOptions {
  /** Our unicast address for o= (usually `rtc.announcedIp`). */
  address: string;
  username?: string;
  /** o= sess-id; default: random (RFC 4566 §5.2 suggests an NTP timestamp; any unique number will do). */
  sessionId?: string;
  sessionName?: string;
  /** First o= sess-version (default 1). */
  initialVersion?: number;
}

/**
 * Our side of one SDP session (one dialog): remembers the o= line and bumps its version when, and only when, the
 * SDP we send changes (RFC 3264 §8: "the version MUST be incremented" for a modified SDP; §8 also allows
 * re-sending an unchanged SDP with the same version, e.g. in a re-INVITE that only refreshes the session).
 */
export class SdpSession {
  readonly sessionId: string;
  readonly username: string;
  readonly sessionName: string;
  readonly address: string;
  #version: number;
  #lastBody: string | undefined;

  constructor(opts: SdpSessionOptions) {
    this.address = opts.address;
    this.username = opts.username ?? 'parley';
    this.sessionId = opts.sessionId ?? String(randomInt(1, 2 ** 47));
    this.sessionName = opts.sessionName ?? 'Parley';
    this.#version = opts.initialVersion ?? 1;
  }

  /** The o= sess-version of the last SDP rendered (or of the next one, before any). */
  get version(): number {
    return this.#version;
  }

  /**
   * Serializes a description with our o= and s= lines. The version is incremented when the rest of the SDP differs
   * from the last rendered one.
   */
  render(description: Omit<sdpTransform.SessionDescription, 'origin' | 'name' | 'version'>): string {
    const ipVer = this.address.includes(':') ? 6 : 4;
    const body = sdpTransform.write({
      ...description,
      version: 0,
      origin: {
        username: this.username,
        sessionId: this.sessionId,
        sessionVersion: 0,
        netType: 'IN',
        ipVer,
        address: this.address,
      },
      name: this.sessionName,
    } as sdpTransform.SessionDescription);
    if (this.#lastBody !== undefined && body !== this.#lastBody) this.#version += 1;
    this.#lastBody = body;
    return body.replace(
      /^o=(\S+) (\S+) 0 /m,
      (_all, user: string, id: string) => `o=${user} ${id} ${this.#version} `,
    );
  }
}
