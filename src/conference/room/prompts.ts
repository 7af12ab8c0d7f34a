import fs from 'node:fs';
import path from 'node:path';
import { projectRoot } from '../../util/project-root';

/** Spoken prompts (rendered to files at build time by scripts/render-prompts.sh). */
export const SPOKEN_PROMPTS = [
  'enter-pin',
  'wrong-pin',
  'only-participant',
  'muted',
  'unmuted',
  'goodbye',
  // Webinars: the waiting room, listen-only attendees, *1.
  'lobby-wait',
  'webinar-wait-host',
  'lobby-admitted',
  'lobby-denied',
  'listen-only',
  'hand-raised',
  'hand-lowered',
] as const;
/** Every prompt: the spoken ones and the generated chimes. */
export const PROMPT_NAMES = [...SPOKEN_PROMPTS, 'join', 'leave'] as const;
export type PromptName = (typeof PROMPT_NAMES)[number];

export const PROMPT_RATE = 16000;

/** Where prompts come from (the rendered files; a fake in unit tests). Clips are 16-bit mono at PROMPT_RATE. */
export interface PromptSource {
  get(name: PromptName): Int16Array | undefined;
}

/** A short two-tone chime (join: rising, leave: falling), 16 kHz. */
function chime(f1: number, f2: number): Int16Array {
  const n = PROMPT_RATE * 0.12;
  const out = new Int16Array(n * 2);
  for (let i = 0; i < out.length; i++) {
    const f = i < n ? f1 : f2;
    const env = Math.min(1, i / 160, (out.length - i) / 160);
    out[i] = Math.round(6000 * env * Math.sin((2 * Math.PI * f * i) / PROMPT_RATE));
  }
  return out;
}

/**
 * Spoken prompts rendered at build time by scripts/render-prompts.sh (espeak-ng → 16 kHz PCM in dist/prompts),
 * plus generated join/leave chimes. A missing prompt file is simply not played.
 */
export class Prompts implements PromptSource {
  private readonly clips = new Map<PromptName, Int16Array>();

  constructor(dir = path.join(projectRoot(), 'dist', 'prompts')) {
    for (const name of SPOKEN_PROMPTS) {
      const f = path.join(dir, `${name}.${PROMPT_RATE}.pcm`);
      if (!fs.existsSync(f)) continue;
      const buf = fs.readFileSync(f);
      this.clips.set(
        name,
        new Int16Array(buf.buffer.slice(buf.byteOffset, buf.byteOffset + (buf.length & ~1))),
      );
    }
    this.clips.set('join', chime(660, 880));
    this.clips.set('leave', chime(880, 660));
  }

  get(name: PromptName): Int16Array | undefined {
    return this.clips.get(name);
  }
}
