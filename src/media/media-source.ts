import type { types } from 'mediasoup';

export interface MediaSourceEvents {
  /** A (new) Producer carries the source's media: consumers of the previous one must consume this one. */
  producer: [producer: types.Producer];
  closed: [];
}

/**
 * One stream an endpoint sends, as SFU consumers (browsers, the livestream) see it: a phone's leg or a browser's
 * mic or camera. Its Producer may appear later (a phone's SSRC is learnt from its first packet) and may be replaced
 * (SSRC or codec change); legs mixed in a media thread create it only while someone holds it.
 */
export interface MediaSource {
  readonly kind: types.MediaKind;
  /**
   * Returns the source's Producer once known (undefined: not yet, a `producer` event follows); every call must be
   * paired with `releaseProducer()`.
   */
  acquireProducer(): Promise<types.Producer | undefined>;
  releaseProducer(): void;
  on<K extends keyof MediaSourceEvents>(event: K, listener: (...args: MediaSourceEvents[K]) => void): unknown;
  off<K extends keyof MediaSourceEvents>(
    event: K,
    listener: (...args: MediaSourceEvents[K]) => void,
  ): unknown;
}
