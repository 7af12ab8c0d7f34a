/**
 * The RFC 4575 conference-info builder: every document is validated against the RFC 4575 §5 schema by xmllint
 * (test/fixtures/rfc4575), and the validator is shown to refuse an invalid one.
 */
import {
  buildFullConferenceInfo,
  buildPartialConferenceInfo,
  CONFERENCE_INFO_NS,
  DisconnectionMethod,
  EndpointStatus,
  JoiningMethod,
  type ConferenceInfoState,
} from '../../../../src/conference/events/conference-info';
import {
  describeRoom,
  endpointInfo,
  endpointStatus,
  userEntity,
  usersOf,
  type ConferenceAddress,
} from '../../../../src/conference/events/participant-info';
import { LeaveReason } from '../../../../src/conference/participant/leave-reason';
import { Participant } from '../../../../src/conference/participant/participant';
import { ParticipantKind } from '../../../../src/conference/participant/participant-kind';
import type { Room } from '../../../../src/conference/room/room';
import { silentLogger } from '../../../../src/logging/logger';
import { validateXml } from '../../../fixtures/rfc4575/validate';

const log = silentLogger();
const addr: ConferenceAddress = {
  entity: 'sip:demo@127.0.0.1:5060',
  host: '127.0.0.1:5060',
  webUrl: 'http://127.0.0.1:8080/r/demo',
};

function phone(name: string, uri = `sip:${name}@pbx.example.com`): Participant {
  return new Participant(ParticipantKind.Sip, { displayName: name, uri, transport: 'UDP' }, log);
}

function browser(name: string): Participant {
  return new Participant(
    ParticipantKind.WebRtc,
    { displayName: name, uri: 'webrtc:127.0.0.1', transport: 'WebRTC' },
    log,
  );
}

/** A room as the description needs it (the builder is pure: it only reads settings and the roster). */
function roomLike(ps: Participant[]): Room {
  return {
    id: 'demo',
    settings: { displayName: 'Demo room', maxParticipants: 50 },
    locked: false,
    participants: () => ps,
  } as unknown as Room;
}

function state(ps: Participant[]): ConferenceInfoState {
  const room = roomLike(ps);
  return {
    entity: addr.entity,
    description: describeRoom(room, addr),
    state: { userCount: ps.length, active: ps.length > 0, locked: false },
    users: usersOf(ps, addr),
  };
}

describe('conference-info documents (RFC 4575)', () => {
  it('a full document (phones and a browser) is valid against the RFC 4575 schema', () => {
    const alice = phone('Alice');
    alice.markJoined();
    const bob = phone('Bob');
    bob.markJoined();
    bob.setMuted(true, 'moderator');
    bob.setRole('moderator');
    const carol = browser('Carol');
    carol.markJoined();
    carol.setMedia({ video: true });
    const xml = buildFullConferenceInfo(state([alice, bob, carol]), 1);
    const v = validateXml(xml);
    expect(v.errors).toBe('');
    expect(v.ok).toBe(true);
    expect(xml).toContain(`<conference-info xmlns="${CONFERENCE_INFO_NS}" entity="sip:demo@127.0.0.1:5060"`);
    expect(xml).toContain('state="full" version="1"');
    expect(xml).toContain('<user-count>3</user-count>');
    expect(xml).toContain('<uri>http://127.0.0.1:8080/r/demo</uri>');
    // the phone by its own URI, the browser by sip:<participantId>@<host>
    expect(xml).toContain('<user entity="sip:Alice@pbx.example.com">');
    expect(xml).toContain(`<user entity="sip:${carol.id}@127.0.0.1:5060">`);
    expect(xml).toContain('<status>muted-via-focus</status>');
    expect(xml).toContain('<entry>moderator</entry>');
    expect(xml).toContain('<joining-method>dialed-in</joining-method>');
    // Carol sends video
    expect(xml).toMatch(/<media id="2">\s*<type>video<\/type>/);
  });

  it('a partial document with a deleted user (disconnection method and info) is valid', () => {
    const dave = phone('Dave');
    dave.markJoined();
    const left = endpointInfo(dave, addr, {
      reason: LeaveReason.Kicked,
      at: new Date('2026-01-01T10:00:00Z'),
    });
    expect(left.status).toBe(EndpointStatus.Disconnected);
    expect(left.disconnectionMethod).toBe(DisconnectionMethod.Booted);
    const xml = buildPartialConferenceInfo(
      {
        entity: addr.entity,
        state: { userCount: 0, active: false, locked: true },
        users: [
          {
            entity: userEntity(dave, addr.host),
            roles: [],
            endpoints: [{ ...left, state: 'deleted' }],
            state: 'deleted',
          },
        ],
      },
      7,
    );
    expect(validateXml(xml)).toEqual({ ok: true, errors: '' });
    expect(xml).toContain('state="partial" version="7"');
    expect(xml).toContain('<users state="partial">');
    expect(xml).toContain('<user entity="sip:Dave@pbx.example.com" state="deleted">');
    expect(xml).toContain('<disconnection-method>booted</disconnection-method>');
    expect(xml).toContain('<when>2026-01-01T10:00:00.000Z</when>');
    expect(xml).toContain('<locked>true</locked>');
  });

  it('the validator refuses an invalid document (so the tests above can fail)', () => {
    const alice = phone('Alice');
    alice.markJoined();
    const xml = buildFullConferenceInfo(state([alice]), 1);
    const bad = xml.replace('<status>connected</status>', '<status>dancing</status>');
    expect(bad).not.toBe(xml);
    const v = validateXml(bad);
    expect(v.ok).toBe(false);
    expect(v.errors).toContain("The value 'dancing' is not an element of the set");
    // and an element out of the schema's order
    const reordered = xml.replace(/<conference-state>[\s\S]*<\/conference-state>\s*/, '');
    const withStateLast = reordered.replace(
      '</conference-info>',
      '<conference-state><active>true</active></conference-state></conference-info>',
    );
    expect(validateXml(withStateLast).ok).toBe(false);
  });

  it('caller-supplied names are text: markup escaped, control characters dropped, still valid', () => {
    const evil = phone('<b>x</b> & "q"\u0001\u0007', 'sip:evil@pbx.example.com');
    evil.markJoined();
    const xml = buildFullConferenceInfo(state([evil]), 2);
    expect(validateXml(xml)).toEqual({ ok: true, errors: '' });
    expect(xml).toContain('<display-text>&lt;b&gt;x&lt;/b&gt; &amp; "q"</display-text>');
    expect(xml).not.toContain('<b>');
  });

  it('endpoint status follows the participant: dialing-in, connected, on-hold, muted-via-focus, disconnected', () => {
    const p = phone('Erin');
    expect(endpointStatus(p)).toBe(EndpointStatus.DialingIn);
    p.markJoined();
    expect(endpointStatus(p)).toBe(EndpointStatus.Connected);
    p.setMuted(true, 'self');
    expect(endpointStatus(p)).toBe(EndpointStatus.MutedViaFocus);
    p.setMedia({ onHold: true });
    expect(endpointStatus(p)).toBe(EndpointStatus.OnHold);
    p.close(LeaveReason.RemoteBye);
    expect(endpointStatus(p)).toBe(EndpointStatus.Disconnected);
    expect(endpointInfo(p, addr).joiningMethod).toBe(JoiningMethod.DialedIn);
  });

  it('one URI that called twice is one user with two endpoints', () => {
    const a1 = phone('Alice');
    const a2 = phone('Alice');
    const users = usersOf([a1, a2], addr);
    expect(users).toHaveLength(1);
    expect(users[0]!.endpoints.map((e) => e.entity)).toEqual([
      `sip:${a1.id}@127.0.0.1:5060`,
      `sip:${a2.id}@127.0.0.1:5060`,
    ]);
    expect(validateXml(buildFullConferenceInfo(state([a1, a2]), 1)).ok).toBe(true);
  });
});
