import type { types } from 'mediasoup';

/**
 * Whether what the endpoint sends on this m-line reaches the room. Audio: only while it also receives — on hold
 * (a=sendonly, RFC 3264 §8.4) a phone plays music-on-hold that must not reach the room. Video: whenever it sends — a
 * camera-only video line (a=sendonly next to a sendrecv audio line) is a camera to show, not a hold.
 */
export function producerFlows(media: {
  kind?: types.MediaKind;
  phoneSends: boolean;
  phoneReceives: boolean;
}): boolean {
  return media.kind === 'video' ? media.phoneSends : media.phoneSends && media.phoneReceives;
}

/**
 * Pauses or resumes a leg's Producer and Consumer for the negotiated direction (`producerFlows`). A Producer or Consumer
 * may be replaced (SSRC, codec, source change) while this waits: closed ones are skipped (the new one is created
 * with the right `paused` state), and an error of one that closed meanwhile is ignored.
 */
export async function applyLegDirection(
  media: { kind?: types.MediaKind; phoneSends: boolean; phoneReceives: boolean },
  producer: types.Producer | undefined,
  consumer: types.Consumer | undefined,
): Promise<void> {
  const send = producerFlows(media);
  const receive = media.phoneReceives;
  const ignoreIfClosed = (o: { closed: boolean }, err: unknown): void => {
    if (!o.closed) throw err;
  };
  if (producer && !producer.closed)
    await (send ? producer.resume() : producer.pause()).catch((err: unknown) =>
      ignoreIfClosed(producer, err),
    );
  if (consumer && !consumer.closed)
    await (receive ? consumer.resume() : consumer.pause()).catch((err: unknown) =>
      ignoreIfClosed(consumer, err),
    );
}
