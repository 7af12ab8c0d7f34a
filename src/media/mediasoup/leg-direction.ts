import type { types } from 'mediasoup';

/**
 * Pauses or resumes a leg's Producer and Consumer for the negotiated direction. On hold (the endpoint stopped
 * receiving) its music-on-hold must not reach the room either, so the Producer pauses too. A Producer or Consumer
 * may be replaced (SSRC, codec, source change) while this waits: closed ones are skipped (the new one is created
 * with the right `paused` state), and an error of one that closed meanwhile is ignored.
 */
export async function applyLegDirection(
  media: { phoneSends: boolean; phoneReceives: boolean },
  producer: types.Producer | undefined,
  consumer: types.Consumer | undefined,
): Promise<void> {
  const send = media.phoneSends && media.phoneReceives;
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
