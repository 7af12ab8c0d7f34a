import {
  canMove,
  LivestreamState as S,
  LivestreamStateMachine,
} from '../../../src/livestream/livestream-state';

describe('LivestreamStateMachine', () => {
  it('goes starting → live → restarting → live → stopped and stamps each entry', () => {
    let t = 1000;
    const m = new LivestreamStateMachine(() => t);
    expect(m.state).toBe(S.Starting);
    expect(m.since).toBe(1000);
    t = 2000;
    expect(m.move(S.Live)).toBe(true);
    expect(m.since).toBe(2000);
    expect(m.move(S.Restarting)).toBe(true);
    expect(m.move(S.Live)).toBe(true);
    expect(m.move(S.Stopped)).toBe(true);
    expect(m.isFinal).toBe(true);
  });

  it('stopped and failed are final: nothing leaves them', () => {
    for (const final of [S.Stopped, S.Failed])
      for (const to of Object.values(S)) expect(canMove(final, to)).toBe(false);
    const m = new LivestreamStateMachine();
    m.mustMove(S.Failed);
    expect(m.move(S.Live)).toBe(false);
    expect(m.state).toBe(S.Failed);
    expect(() => m.mustMove(S.Starting)).toThrow(/cannot go from failed to starting/);
  });

  it('never goes back to starting, and live does not repeat', () => {
    expect(canMove(S.Live, S.Starting)).toBe(false);
    expect(canMove(S.Restarting, S.Starting)).toBe(false);
    expect(canMove(S.Live, S.Live)).toBe(false);
    expect(canMove(S.Restarting, S.Restarting)).toBe(true);
  });
});
