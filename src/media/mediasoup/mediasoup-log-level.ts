/**
 * Which level a line of mediasoup's own log (its Node side and its worker) deserves in ours.
 *
 * One kind of mediasoup "error" is an expected race, not a fault: Node asks the worker to close a Consumer (or
 * Producer, Transport…) the worker has already closed on its own, for instance a Consumer closed with its Producer
 * while the `consumer.producerclose` notification had no Node object to reach yet (a `transport.consume()` answered
 * while the Producer was closing). The worker then says "Consumer not found" at error level, and mediasoup's Node
 * side swallows the rejection. Closing what is already closed is what `close()` is for (idempotent), so these lines
 * go to debug; every other "not found" (a pause, a resume, a stats request…) keeps its level.
 *
 * The worker writes two lines for one such request: the lookup (`RTC::Transport::GetConsumerById() | throwing
 * MediaSoupError: Consumer not found`, no method named) and the request (`Worker::HandleRequest() | throwing
 * MediaSoupError: Consumer not found [method:transport.closeConsumer]`); Node adds `request failed
 * [method:TRANSPORT_CLOSE_CONSUMER, id:163]: …`. The lookup line is kept at debug as well: the request line that
 * follows it names the method and keeps its level when the method is not a close.
 */
export type MediasoupLogLevel = 'debug' | 'warn' | 'error';

/** `Get<Thing>ById() | throwing MediaSoupError: <Thing> not found` (the worker's lookup, method unnamed). */
const LOOKUP_MISS = /\bGet[A-Za-z]*ById\(\) \| throwing MediaSoupError: [A-Za-z]+ not found\s*$/;
/** The worker's request line for a close method (`[method:transport.closeConsumer]`, `router.closeTransport`…). */
const WORKER_CLOSE_MISS =
  /throwing MediaSoupError: [A-Za-z]+ not found \[method:[a-z]+\.close[A-Za-z]*\]\s*$/;
/** Node's Channel line for the same request (`request failed [method:TRANSPORT_CLOSE_CONSUMER, id:163]: …`). */
const CHANNEL_CLOSE_MISS = /^request failed \[method:[A-Z]+_CLOSE_[A-Z_]+, id:\d+\]: [A-Za-z]+ not found\b/;

export function mediasoupLogLevel(level: 'warn' | 'error', msg: string): MediasoupLogLevel {
  if (LOOKUP_MISS.test(msg) || WORKER_CLOSE_MISS.test(msg) || CHANNEL_CLOSE_MISS.test(msg)) return 'debug';
  return level;
}
