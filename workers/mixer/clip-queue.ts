/**
 * Clips (mono PCM at the mix rate) played one after the other, a frame at a time: a participant's prompts, or a
 * room's announcements.
 */
export class ClipQueue {
  private readonly clips: Int16Array[] = [];
  private offset = 0;

  get isEmpty(): boolean {
    return this.clips.length === 0;
  }

  /** Samples still to play. */
  get queuedSamples(): number {
    let n = -this.offset;
    for (const c of this.clips) n += c.length;
    return n;
  }

  push(clip: Int16Array): void {
    if (clip.length > 0) this.clips.push(clip);
  }

  clear(): void {
    this.clips.length = 0;
    this.offset = 0;
  }

  /** The next frame into `out` (its whole length), zero-padded after the last clip. */
  next(out: Int16Array): Int16Array {
    out.fill(0);
    let o = 0;
    while (o < out.length && this.clips.length > 0) {
      const clip = this.clips[0]!;
      const n = Math.min(out.length - o, clip.length - this.offset);
      out.set(clip.subarray(this.offset, this.offset + n), o);
      o += n;
      this.offset += n;
      if (this.offset >= clip.length) {
        this.clips.shift();
        this.offset = 0;
      }
    }
    return out;
  }
}
