/**
 * Energy-based talk detection with hysteresis: speech starts after `attackFrames` consecutive frames above
 * `startDb`, stops after `releaseFrames` consecutive frames below `stopDb` (stopDb < startDb so a level
 * hovering at the threshold does not flap). Levels are dBFS of the frame RMS (full scale = 32768).
 */
export type VadEvent = 'start' | 'stop';

export interface VadOptions {
  startDb?: number;
  stopDb?: number;
  attackFrames?: number;
  releaseFrames?: number;
}

/** RMS level of a frame in dBFS (−Infinity for digital silence... clamped to −120). */
export function frameLevelDb(frame: Int16Array): number {
  return energyToDb(frameEnergy(frame));
}

/** Mean-square energy (per sample) of a frame. */
export function frameEnergy(frame: Int16Array): number {
  let sum = 0;
  for (let i = 0; i < frame.length; i++) {
    const v = frame[i];
    sum += v * v;
  }
  return sum / Math.max(1, frame.length);
}

/** Mean-square energy (per sample) → dBFS. */
export function energyToDb(meanSquare: number): number {
  if (meanSquare <= 0) return -120;
  return Math.max(-120, 10 * Math.log10(meanSquare / (32768 * 32768)));
}

export class Vad {
  private readonly startDb: number;
  private readonly stopDb: number;
  private readonly attack: number;
  private readonly release: number;
  private above = 0;
  private below = 0;
  private _speaking = false;

  constructor(opts: VadOptions = {}) {
    this.startDb = opts.startDb ?? -40;
    this.stopDb = opts.stopDb ?? -48;
    this.attack = opts.attackFrames ?? 3;
    this.release = opts.releaseFrames ?? 25;
    if (this.stopDb > this.startDb) throw new RangeError('vad: stopDb must be <= startDb');
  }

  get speaking(): boolean {
    return this._speaking;
  }

  /** Not speaking and not counting towards a start: a frame of silence (or none) would change nothing. */
  get atRest(): boolean {
    return !this._speaking && this.above === 0;
  }

  /** Feed one frame's level (dBFS), or null for "no audio this tick" (counts as silence). */
  processLevel(levelDb: number | null): VadEvent | null {
    const db = levelDb ?? -120;
    if (!this._speaking) {
      this.above = db >= this.startDb ? this.above + 1 : 0;
      if (this.above >= this.attack) {
        this._speaking = true;
        this.below = 0;
        return 'start';
      }
    } else {
      this.below = db < this.stopDb ? this.below + 1 : 0;
      if (this.below >= this.release) {
        this._speaking = false;
        this.above = 0;
        return 'stop';
      }
    }
    return null;
  }

  process(frame: Int16Array | null): VadEvent | null {
    return this.processLevel(frame ? frameLevelDb(frame) : null);
  }

  /** Force "not speaking" (e.g. on mute); returns 'stop' if that changed anything. */
  reset(): VadEvent | null {
    const was = this._speaking;
    this._speaking = false;
    this.above = 0;
    this.below = 0;
    return was ? 'stop' : null;
  }
}
