import { createResponse } from '../message/response-factory';
import { newTag } from '../message/ids';
import type { SipRequest } from '../message/sip-message';
import type { ServerTransaction } from '../transaction/transaction';
import type { Flow } from '../transport/transport';
import type { ReplyOptions } from '../dialog/session-dialog';
import type { Headers } from '../message/headers';

/** Adds User-Agent/Allow/Supported to what we send. */
export type Decorate = (h: Headers, kind: 'request' | 'response', method: string) => void;

/** A request outside any dialog (OPTIONS, MESSAGE, REFER, SUBSCRIBE, ...): reply once. */
export class IncomingRequest {
  private answered = false;
  readonly toTag = newTag();

  constructor(
    readonly request: SipRequest,
    readonly flow: Flow,
    private readonly tx: ServerTransaction,
    private readonly decorate: Decorate,
  ) {}

  get method(): string {
    return this.request.method;
  }

  get replied(): boolean {
    return this.answered;
  }

  reply(status: number, opts: ReplyOptions = {}): void {
    if (this.answered) return;
    if (status >= 200) this.answered = true;
    const body = typeof opts.body === 'string' ? Buffer.from(opts.body) : opts.body;
    const res = createResponse(this.request, status, opts.reason, {
      toTag: this.toTag,
      headers: opts.headers,
      body,
      contentType: body && body.length > 0 ? (opts.contentType ?? 'text/plain') : undefined,
    });
    this.decorate(res.headers, 'response', this.request.method);
    this.tx.respond(res);
  }
}
