import { AppError } from '../../errors/app-error';

/**
 * Even RTP ports for phone-facing legs (RFC 3550 §11: RTP on an even port, RTCP on the next odd one). The
 * allocator only remembers what it handed out; binding is the caller's job (a port that turns out to be taken by
 * another process is simply skipped on the next call).
 */
export class PortAllocator {
  private readonly used = new Set<number>();
  private next: number;

  constructor(
    private readonly min: number,
    private readonly max: number,
  ) {
    if (min % 2) this.min = min + 1;
    if (this.min + 1 > max) throw new Error(`RTP port range ${min}-${max} is too small`);
    this.next = this.min;
  }

  get inUse(): number {
    return this.used.size;
  }

  /** The next free even port (round robin, so a just-released port is not reused at once). */
  allocate(): number {
    const slots = Math.floor((this.max - this.min + 1) / 2);
    for (let i = 0; i < slots; i++) {
      const port = this.next;
      this.next = this.next + 2 > this.max - 1 ? this.min : this.next + 2;
      if (!this.used.has(port)) {
        this.used.add(port);
        return port;
      }
    }
    throw new AppError('MEDIA_NO_PORT', `no free RTP port in ${this.min}-${this.max}`);
  }

  release(port: number): void {
    this.used.delete(port);
  }
}
