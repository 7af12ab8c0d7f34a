import { mediasoupLogLevel } from '../../../../src/media/mediasoup/mediasoup-log-level';

// The three lines a fresh-clone CI run logged for one close of a Consumer the worker had closed with its Producer.
const CLOSE_RACE = [
  '[pid:26026] RTC::Transport::GetConsumerById() | throwing MediaSoupError: Consumer not found',
  '[pid:26026] Worker::HandleRequest() | throwing MediaSoupError: Consumer not found [method:transport.closeConsumer]',
  'request failed [method:TRANSPORT_CLOSE_CONSUMER, id:163]: Consumer not found [method:transport.closeConsumer]',
];

test('closing what the worker already closed is debug, whichever object it was', () => {
  expect(CLOSE_RACE.map((m, i) => mediasoupLogLevel(i < 2 ? 'error' : 'warn', m))).toEqual([
    'debug',
    'debug',
    'debug',
  ]);
  expect(
    mediasoupLogLevel(
      'error',
      '[pid:7] Worker::HandleRequest() | throwing MediaSoupError: Transport not found [method:router.closeTransport]',
    ),
  ).toBe('debug');
  expect(
    mediasoupLogLevel(
      'warn',
      'request failed [method:TRANSPORT_CLOSE_PRODUCER, id:9]: Producer not found [method:transport.closeProducer]',
    ),
  ).toBe('debug');
});

test('any other request on a missing object keeps its level, and so does every other line', () => {
  expect(
    mediasoupLogLevel(
      'error',
      '[pid:7] Worker::HandleRequest() | throwing MediaSoupError: Consumer not found [method:consumer.pause]',
    ),
  ).toBe('error');
  expect(
    mediasoupLogLevel(
      'warn',
      'request failed [method:CONSUMER_PAUSE, id:12]: Consumer not found [method:consumer.pause]',
    ),
  ).toBe('warn');
  expect(
    mediasoupLogLevel(
      'error',
      '[pid:7] Worker::HandleRequest() | throwing MediaSoupError: Producer not found [method:transport.consume]',
    ),
  ).toBe('error');
  expect(
    mediasoupLogLevel('error', '[pid:7] RTC::Router::HandleRequest() | a Producer with same id exists'),
  ).toBe('error');
  expect(mediasoupLogLevel('warn', 'request failed [method:TRANSPORT_CLOSE_CONSUMER, id:5]: timeout')).toBe(
    'warn',
  );
  // not anchored at a lookup's end: a longer message naming one is not a lookup miss
  expect(
    mediasoupLogLevel(
      'error',
      'GetConsumerById() | throwing MediaSoupError: Consumer not found while consuming',
    ),
  ).toBe('error');
});
