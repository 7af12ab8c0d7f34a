/**
 * Iterates test/fixtures/sip/{valid,invalid}/*.sip (CRLF line ends; cases modelled on RFC 4475 torture tests).
 * invalid/expected.json gives, per file, the expected status, a reason substring and whether a partial request
 * (to answer with a response) must be available.
 */
import { readdirSync, readFileSync } from 'node:fs';
import { join } from 'node:path';
import { SipParseError } from '../../../../src/sip/errors';
import { splitMultipart } from '../../../../src/sip/message/multipart';
import { SipRequest } from '../../../../src/sip/message/sip-message';
import type { SipResponse } from '../../../../src/sip/message/sip-message';
import { parseMessage } from '../../../../src/sip/parser/message-parser';
import { validateRequest, validateResponse } from '../../../../src/sip/parser/validate';

const ROOT = join(__dirname, '../../../fixtures/sip');
const validFiles = readdirSync(join(ROOT, 'valid'))
  .filter((f) => f.endsWith('.sip'))
  .sort();
const invalidFiles = readdirSync(join(ROOT, 'invalid'))
  .filter((f) => f.endsWith('.sip'))
  .sort();
const expected = JSON.parse(readFileSync(join(ROOT, 'invalid/expected.json'), 'utf8')) as Record<
  string,
  { status: number; reason: string; partial: boolean }
>;

function parseAndValidate(data: Buffer): SipRequest | SipResponse {
  const m = parseMessage(data);
  if (m instanceof SipRequest) validateRequest(m);
  else validateResponse(m);
  return m;
}

describe('valid fixtures', () => {
  it('has fixtures', () => {
    expect(validFiles.length).toBeGreaterThanOrEqual(15);
  });

  it.each(validFiles)('%s parses, validates and survives a serialize/parse round trip', (file) => {
    const data = readFileSync(join(ROOT, 'valid', file));
    const m = parseAndValidate(data);
    // touch every structured view
    const snapshot = (x: SipRequest | SipResponse): unknown => ({
      start: x instanceof SipRequest ? `${x.method} ${x.uri.toString()}` : `${x.status} ${x.reason}`,
      callId: x.callId,
      cseq: x.cseq,
      from: x.from.toString(),
      to: x.to.toString(),
      vias: x.vias.map(String),
      contact: x.isContactStar ? '*' : x.contact.map(String),
      body: x.body.toString('hex'),
    });
    const before = snapshot(m);
    const again = parseAndValidate(m.toBuffer());
    expect(snapshot(again)).toEqual(before);
    // serialization is a fixpoint after one round
    expect(again.toBuffer().equals(parseMessage(again.toBuffer()).toBuffer())).toBe(true);
  });

  it('wsinv: folded, spaced and compact headers are understood', () => {
    const m = parseAndValidate(readFileSync(join(ROOT, 'valid/wsinv.sip'))) as SipRequest;
    expect(m.to.tag).toBe('1918181833n');
    expect(m.from.displayName).toBe('J Rosenberg \\"');
    expect(m.cseq).toEqual({ seq: 9, method: 'INVITE' });
    expect(m.maxForwards).toBe(68);
    expect(m.vias.map((v) => `${v.transport} ${v.host} ${v.branch}`)).toEqual([
      'UDP 192.0.2.2 390skdjuw',
      'TCP spindle.example.com z9hG4bK9ikj8',
      'UDP 192.168.255.111 z9hG4bK30239',
    ]);
    expect(m.contact[0]!.params.get('q')).toBe('0.33');
    expect(m.headers.get('Subject')).toBe('');
    expect(m.contentType).toBe('application/sdp');
  });

  it('intmeth: unusual but legal characters everywhere', () => {
    const m = parseAndValidate(readFileSync(join(ROOT, 'valid/intmeth.sip'))) as SipRequest;
    expect(m.method).toBe("!interesting-Method0123456789_*+`.%indeed'~");
    expect(m.uri.password).toBe("&it+has=1,weird!*pas$wo~d_too.(doesn't-it)");
    expect(m.to.displayName).toBe('BEL:\x07 NUL:\x00 DEL:\x7f');
    expect(m.from.tag).toBe("_token~1'+`*%!-.");
    expect(m.headers.get("extensionHeader-!.%*+_`'~")).toBe('\ufeff大停電');
  });

  it('esc01 / escnull / esc02 / semiuri: %-escapes', () => {
    const e1 = parseAndValidate(readFileSync(join(ROOT, 'valid/esc01.sip'))) as SipRequest;
    expect(e1.uri.user).toBe('sips:user@example.com');
    expect(e1.to.uri.user).toBe('user');
    expect(e1.from.uri.user).toBe('I have spaces');
    expect(e1.contact[0]!.uri.params.get('name')).toBe('value%41');
    expect(e1.contact[0]!.uri.params.has('lr')).toBe(true);
    const en = parseAndValidate(readFileSync(join(ROOT, 'valid/escnull.sip')));
    expect(en.contact.map((c) => c.uri.user)).toEqual(['\0', '\0\0']);
    const e2 = parseAndValidate(readFileSync(join(ROOT, 'valid/esc02.sip'))) as SipRequest;
    expect(e2.method).toBe('RE%47IST%45R');
    expect(e2.headers.getAll('Contact')).toHaveLength(2);
    expect(e2.headers.get('C%6Fntact')).toBe('<sip:alias2@host2.example.com>');
    const s = parseAndValidate(readFileSync(join(ROOT, 'valid/semiuri.sip'))) as SipRequest;
    expect(s.uri.user).toBe('user;par=u@example.net');
    expect(s.uri.host).toBe('example.com');
    expect(s.headers.getList('Accept')).toHaveLength(6);
  });

  it('dblreq: trailing octets after Content-Length are discarded (§18.3)', () => {
    const m = parseAndValidate(readFileSync(join(ROOT, 'valid/dblreq.sip'))) as SipRequest;
    expect(m.method).toBe('REGISTER');
    expect(m.body.length).toBe(0);
  });

  it('mpart01: multipart/mixed body splits into parts', () => {
    const m = parseAndValidate(readFileSync(join(ROOT, 'valid/mpart01.sip')));
    const parts = splitMultipart(m.body, m.headers.get('Content-Type')!);
    expect(parts).toHaveLength(2);
    expect(parts[0]!.headers.get('Content-Type')).toBe('text/plain');
    expect(parts[0]!.body.toString()).toBe('Hello');
    expect(parts[1]!.body.equals(Buffer.from([0x30, 0x52, 0x30, 1, 2, 3]))).toBe(true);
  });

  it('ipv6-refs and tel-uri', () => {
    const v6 = parseAndValidate(readFileSync(join(ROOT, 'valid/ipv6-refs.sip'))) as SipRequest;
    expect(v6.uri.host).toBe('[2001:db8::10]');
    expect(v6.topVia.host).toBe('[2001:db8::9:1]');
    expect(v6.topVia.port).toBe(5070);
    expect(v6.topVia.received).toBe('[2001:db8::9:255]');
    expect(v6.topVia.rport).toBe(5071);
    expect(v6.contact[0]!.uri.hostport).toBe('[2001:db8::1]:5060');
    const tel = parseAndValidate(readFileSync(join(ROOT, 'valid/tel-uri.sip'))) as SipRequest;
    expect(tel.uri.scheme).toBe('tel');
    expect(tel.uri.user).toBe('+1-201-555-0123');
    expect(tel.from.uri.user).toBe('+12015550100');
  });
});

describe('invalid fixtures', () => {
  it('every invalid fixture has an expectation', () => {
    expect(invalidFiles.length).toBeGreaterThanOrEqual(20);
    for (const f of invalidFiles) expect(expected[f]).toBeDefined();
  });

  it.each(invalidFiles)('%s is rejected with the expected status and reason', (file) => {
    const exp = expected[file]!;
    let err: unknown;
    try {
      parseAndValidate(readFileSync(join(ROOT, 'invalid', file)));
    } catch (e) {
      err = e;
    }
    expect(err).toBeInstanceOf(SipParseError);
    const pe = err as SipParseError;
    expect(pe.status).toBe(exp.status);
    expect(pe.reason).toContain(exp.reason);
    expect(pe.partial !== undefined).toBe(exp.partial);
    if (pe.partial) expect(pe.partial.vias.length).toBeGreaterThan(0);
  });
});
