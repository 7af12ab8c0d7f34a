/**
 * Webinars in RFC 4575 conference-info: host, panelist and attendee are reported as `roles` entries (§5.6.1), and
 * a person turned away from the waiting room leaves with `booted` and the reason `lobby-denied` (§5.6.5). Every
 * document is validated against the RFC 4575 schema by xmllint (test/fixtures/rfc4575).
 */
import {
  buildFullConferenceInfo,
  buildPartialConferenceInfo,
  DisconnectionMethod,
} from '../../../../src/conference/events/conference-info';
import {
  describeRoom,
  endpointInfo,
  userEntity,
  usersOf,
  type ConferenceAddress,
} from '../../../../src/conference/events/participant-info';
import { LeaveReason } from '../../../../src/conference/participant/leave-reason';
import { Participant, type ParticipantRole } from '../../../../src/conference/participant/participant';
import { ParticipantKind } from '../../../../src/conference/participant/participant-kind';
import type { Room } from '../../../../src/conference/room/room';
import { silentLogger } from '../../../../src/logging/logger';
import { validateXml } from '../../../fixtures/rfc4575/validate';

const log = silentLogger();
const addr: ConferenceAddress = { entity: 'sip:keynote@127.0.0.1:5060', host: '127.0.0.1:5060' };

function phone(name: string, role: ParticipantRole, uri = `sip:${name}@pbx.example.com`): Participant {
  const p = new Participant(ParticipantKind.Sip, { displayName: name, uri, transport: 'UDP' }, log);
  p.setRole(role);
  p.markJoined();
  return p;
}

function fullDocument(ps: Participant[]): string {
  const room = {
    id: 'keynote',
    settings: { displayName: 'Keynote', maxParticipants: 500 },
    locked: false,
    participants: () => ps,
  } as unknown as Room;
  return buildFullConferenceInfo(
    {
      entity: addr.entity,
      description: describeRoom(room, addr),
      state: { userCount: ps.length, active: true, locked: false },
      users: usersOf(ps, addr),
    },
    1,
  );
}

function rolesOf(xml: string, user: string): string[] {
  const start = xml.indexOf(`<user entity="${user}"`);
  const end = xml.indexOf('</user>', start);
  return [...xml.slice(start, end).matchAll(/<entry>([^<]*)<\/entry>/g)].map((m) => m[1]!);
}

test('host, panelist and attendee are roles entries of their users (valid RFC 4575)', () => {
  const ps = [
    phone('Hana', 'host'),
    phone('Pete', 'panelist'),
    phone('Ann', 'attendee'),
    phone('Pat', 'participant'),
  ];
  const xml = fullDocument(ps);
  expect(validateXml(xml)).toEqual({ ok: true, errors: '' });
  expect(rolesOf(xml, 'sip:Hana@pbx.example.com')).toEqual(['host']);
  expect(rolesOf(xml, 'sip:Pete@pbx.example.com')).toEqual(['panelist']);
  expect(rolesOf(xml, 'sip:Ann@pbx.example.com')).toEqual(['attendee']);
  expect(rolesOf(xml, 'sip:Pat@pbx.example.com')).toEqual(['participant']);
});

test('one user dialled in twice with two roles: both entries, the strongest first', () => {
  const uri = 'sip:hana@pbx.example.com';
  const users = usersOf([phone('Hana', 'attendee', uri), phone('Hana', 'host', uri)], addr);
  expect(users).toHaveLength(1);
  expect(users[0]!.roles).toEqual(['host', 'attendee']);
  const moderatorToo = usersOf([phone('M', 'participant', uri), phone('M', 'moderator', uri)], addr);
  expect(moderatorToo[0]!.roles).toEqual(['moderator', 'participant']);
});

test('denied from the waiting room: disconnection-method booted, reason lobby-denied (not kicked)', () => {
  const ann = new Participant(
    ParticipantKind.Sip,
    { displayName: 'Ann', uri: 'sip:ann@pbx.example.com', transport: 'UDP' },
    log,
  );
  ann.setRole('attendee');
  const left = endpointInfo(ann, addr, {
    reason: LeaveReason.LobbyDenied,
    at: new Date('2026-01-01T10:00:00Z'),
  });
  expect(left.disconnectionMethod).toBe(DisconnectionMethod.Booted);
  const xml = buildPartialConferenceInfo(
    {
      entity: addr.entity,
      state: { userCount: 0, active: false, locked: false },
      users: [
        {
          entity: userEntity(ann, addr.host),
          roles: ['attendee'],
          endpoints: [{ ...left, state: 'deleted' }],
          state: 'deleted',
        },
      ],
    },
    2,
  );
  expect(validateXml(xml)).toEqual({ ok: true, errors: '' });
  expect(xml).toContain('<disconnection-method>booted</disconnection-method>');
  expect(xml).toMatch(/<disconnection-info>[\s\S]*<reason>lobby-denied<\/reason>/);
});
