/**
 * The webinar role policy on its own: which PIN gives which role, who joins muted, who may be unmuted, who waits
 * for what. The conference enforces these answers (mix membership, refusals); here they are checked one by one.
 */
import {
  WaitReason,
  WebinarPolicy,
  type WebinarSettings,
} from '../../../../src/conference/webinar/webinar-policy';

const base: WebinarSettings = {
  hostPin: '1111',
  attendeePin: '2222',
  panelistPin: '3333',
  lobby: true,
  joinMuted: true,
  listenOnly: true,
  waitForHost: true,
  reminderSeconds: 30,
};
const policy = (o: Partial<WebinarSettings> = {}): WebinarPolicy => new WebinarPolicy({ ...base, ...o });

describe('WebinarPolicy', () => {
  it('maps the host, panelist and attendee PINs to their roles and nothing else', () => {
    const p = policy();
    expect(p.roleForPin('1111')).toBe('host');
    expect(p.roleForPin('3333')).toBe('panelist');
    expect(p.roleForPin('2222')).toBe('attendee');
    expect(p.roleForPin('4444')).toBeUndefined();
    expect(p.roleForPin('')).toBeUndefined();
    expect(p.open).toBe(false);
  });

  it('without an attendee PIN the webinar is open: an empty PIN makes an attendee; no panelist PIN, no panelists', () => {
    const p = policy({ attendeePin: undefined, panelistPin: undefined });
    expect(p.open).toBe(true);
    expect(p.roleForPin('')).toBe('attendee');
    expect(p.roleForPin('3333')).toBeUndefined();
    expect(p.roleForPin('1111')).toBe('host');
  });

  it('hosts and moderators have host powers; the others do not', () => {
    expect(WebinarPolicy.hasHostPowers('host')).toBe(true);
    expect(WebinarPolicy.hasHostPowers('moderator')).toBe(true);
    for (const r of ['participant', 'panelist', 'attendee'] as const)
      expect(WebinarPolicy.hasHostPowers(r)).toBe(false);
  });

  it('listen-only: attendees join muted and can never be unmuted; panelists and hosts can', () => {
    const p = policy({ joinMuted: false, listenOnly: true });
    expect(p.joinsMuted('attendee')).toBe(true);
    expect(p.canUnmute('attendee')).toBe(false);
    expect(p.joinsMuted('panelist')).toBe(false);
    expect(p.canUnmute('panelist')).toBe(true);
    expect(p.joinsMuted('host')).toBe(false);
    expect(p.canUnmute('host')).toBe(true);
  });

  it('join-muted without listen-only: panelists and attendees join muted and may unmute; hosts join unmuted', () => {
    const p = policy({ joinMuted: true, listenOnly: false });
    expect(p.joinsMuted('attendee')).toBe(true);
    expect(p.canUnmute('attendee')).toBe(true);
    expect(p.joinsMuted('panelist')).toBe(true);
    expect(p.joinsMuted('host')).toBe(false);
    expect(p.joinsMuted('moderator')).toBe(false);
  });

  it('neither: attendees join unmuted', () => {
    const p = policy({ joinMuted: false, listenOnly: false });
    expect(p.joinsMuted('attendee')).toBe(false);
    expect(p.canUnmute('attendee')).toBe(true);
  });

  it('who waits: the host first (waitForHost), then admission (lobby); hosts and moderators never', () => {
    const p = policy();
    expect(p.waitFor('attendee', false)).toBe(WaitReason.Host);
    expect(p.waitFor('panelist', false)).toBe(WaitReason.Host);
    expect(p.waitFor('attendee', true)).toBe(WaitReason.Admission);
    expect(p.waitFor('host', false)).toBeUndefined();
    expect(p.waitFor('moderator', false)).toBeUndefined();
    expect(policy({ lobby: false }).waitFor('attendee', true)).toBeUndefined();
    expect(policy({ waitForHost: false }).waitFor('attendee', false)).toBe(WaitReason.Admission);
    expect(policy({ waitForHost: false, lobby: false }).waitFor('attendee', false)).toBeUndefined();
  });
});
