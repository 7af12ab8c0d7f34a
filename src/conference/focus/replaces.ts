/**
 * The Replaces header (RFC 3891): an INVITE that takes over an existing dialog (attended transfer, call pickup).
 * Parsed here, matched by the focus against its participants' dialogs.
 */

/** The dialog an INVITE with Replaces names (tags as the recipient sees them: to-tag = ours, RFC 3891 §3). */
export interface ReplacesTarget {
  callId: string;
  /** Compared to our local tag (RFC 3891 §3). */
  toTag: string;
  /** Compared to the remote tag (RFC 3891 §3). */
  fromTag: string;
  /** `early-only`: replace only a dialog that is still early (RFC 3891 §3: a confirmed match → 486). */
  earlyOnly: boolean;
}

/** Why a Replaces header cannot be used: the INVITE gets 400 with this reason (RFC 3891 §3). */
export class ReplacesError extends Error {
  readonly status = 400;
}

const TOKEN = /^[A-Za-z0-9\-.!%*_+`'~]+$/;
const CALL_ID = /^[A-Za-z0-9\-.!%*_+`'~()<>:\\"/[\]?{}]+(@[A-Za-z0-9\-.!%*_+`'~()<>:\\"/[\]?{}]+)?$/;

/**
 * Reads the Replaces header values of an INVITE. Returns undefined when there is none; throws ReplacesError when
 * there is more than one ("MUST reject the request with a 400", RFC 3891 §3) or the one there is malformed or lacks
 * a tag ("A Replaces header field MUST contain exactly one to-tag and exactly one from-tag", §6.1).
 */
export function parseReplaces(values: readonly string[]): ReplacesTarget | undefined {
  if (values.length === 0) return undefined;
  if (values.length > 1) throw new ReplacesError('More than one Replaces header');
  const [callIdPart, ...params] = values[0]!.split(';').map((x) => x.trim());
  const callId = callIdPart ?? '';
  if (!CALL_ID.test(callId)) throw new ReplacesError('Bad Call-ID in Replaces');
  let toTag: string | undefined;
  let fromTag: string | undefined;
  let earlyOnly = false;
  for (const param of params) {
    const eq = param.indexOf('=');
    const name = (eq < 0 ? param : param.slice(0, eq)).trim().toLowerCase();
    const value = eq < 0 ? undefined : param.slice(eq + 1).trim();
    if (name === 'early-only') {
      earlyOnly = true;
      continue;
    }
    if (name !== 'to-tag' && name !== 'from-tag') continue; // generic-param: ignored
    if (value === undefined || !TOKEN.test(value)) throw new ReplacesError(`Bad ${name} in Replaces`);
    if ((name === 'to-tag' ? toTag : fromTag) !== undefined)
      throw new ReplacesError(`More than one ${name} in Replaces`);
    if (name === 'to-tag') toTag = value;
    else fromTag = value;
  }
  if (toTag === undefined || fromTag === undefined)
    throw new ReplacesError('Replaces needs a to-tag and a from-tag');
  return { callId, toTag, fromTag, earlyOnly };
}
