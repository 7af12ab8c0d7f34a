/**
 * `conference.rooms[].webinar` in the config file: defaults filled in, and each bad key refused at start naming
 * it (exit 78 in the real process: ConfigError here).
 */
import fs from 'node:fs';
import os from 'node:os';
import path from 'node:path';
import { ConfigError, loadConfig } from '../../../../src/config/load';

function load(yaml: string) {
  const f = path.join(fs.mkdtempSync(path.join(os.tmpdir(), 'parley-webinar-')), 'c.yaml');
  fs.writeFileSync(f, yaml);
  return loadConfig({ file: f, env: {} });
}

const room = (webinar: string, extra = ''): string =>
  `conference:\n  rooms:\n    - name: town-hall\n${extra}      webinar:\n${webinar}`;

describe('conference.rooms[].webinar', () => {
  it('fills in the defaults of a minimal webinar', () => {
    const c = load(room('        hostPin: "1111"\n'));
    expect(c.conference.rooms[0]!.webinar).toEqual({
      hostPin: '1111',
      lobby: false,
      joinMuted: true,
      listenOnly: true,
      waitForHost: false,
      reminderSeconds: 30,
    });
  });

  it.each([
    [room('        lobby: true\n'), 'conference.rooms.0.webinar.hostPin'],
    [room('        hostPin: "12ab"\n'), 'conference.rooms.0.webinar.hostPin'],
    [room('        hostPin: "1111"\n        lobbby: true\n'), 'conference.rooms.0.webinar'],
    [
      room('        hostPin: "1111"\n        attendeePin: "1111"\n'),
      'conference.rooms.0.webinar.attendeePin',
    ],
    [
      room('        hostPin: "1111"\n        panelistPin: "1111"\n'),
      'conference.rooms.0.webinar.panelistPin',
    ],
    [room('        hostPin: "1111"\n', '      pin: "2222"\n'), 'conference.rooms.0.pin'],
    [room('        hostPin: "1111"\n', '      moderatorPin: "1111"\n'), 'conference.rooms.0.webinar.hostPin'],
    [
      room('        hostPin: "1111"\n        reminderSeconds: -1\n'),
      'conference.rooms.0.webinar.reminderSeconds',
    ],
  ])('rejects %j naming the key %s', (yaml, key) => {
    let err: unknown;
    try {
      load(yaml);
    } catch (e) {
      err = e;
    }
    expect(err).toBeInstanceOf(ConfigError);
    expect((err as Error).message).toContain(key);
  });
});
