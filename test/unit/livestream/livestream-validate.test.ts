import { AppError } from '../../../src/errors/app-error';
import { redactUrl } from '../../../src/livestream/livestream';
import { LivestreamService } from '../../../src/livestream/livestream-service';

function code(fn: () => unknown): string | undefined {
  try {
    fn();
    return undefined;
  } catch (err) {
    return err instanceof AppError ? err.code : String(err);
  }
}

describe('LivestreamService.validate', () => {
  it('takes rtmp:// and rtmps:// URLs, HLS and recording, each optional, duplicates once', () => {
    expect(
      LivestreamService.validate({
        rtmp: ['rtmp://a.example/live/k', 'rtmps://b.example:443/app/k', 'rtmp://a.example/live/k'],
      }),
    ).toEqual({
      rtmp: ['rtmp://a.example/live/k', 'rtmps://b.example:443/app/k'],
      hls: false,
      record: false,
      layout: 'speaker',
    });
    expect(LivestreamService.validate({ hls: true })).toEqual({
      rtmp: [],
      hls: true,
      record: false,
      layout: 'speaker',
    });
    expect(LivestreamService.validate({ record: true, layout: 'grid' })).toEqual({
      rtmp: [],
      hls: false,
      record: true,
      layout: 'grid',
    });
  });

  it('refuses nothing asked (LIVESTREAM_NO_OUTPUT)', () => {
    expect(code(() => LivestreamService.validate({}))).toBe('LIVESTREAM_NO_OUTPUT');
    expect(code(() => LivestreamService.validate({ rtmp: [], hls: false, record: false }))).toBe(
      'LIVESTREAM_NO_OUTPUT',
    );
  });

  it('refuses other schemes, no host, and what would break out of the tee muxer (LIVESTREAM_BAD_URL)', () => {
    for (const url of [
      'http://a.example/live/k',
      'file:///etc/passwd',
      'rtmp://',
      'not a url',
      'rtmp://a.example/live/k|[f=mp4]/tmp/x.mp4',
      'rtmp://a.example/live/[k]',
      'rtmp://a.example/live/k\\x',
    ])
      expect({ url, code: code(() => LivestreamService.validate({ rtmp: [url] })) }).toEqual({
        url,
        code: 'LIVESTREAM_BAD_URL',
      });
  });
});

describe('redactUrl', () => {
  it('hides the stream key (the path’s last part) and the query', () => {
    expect(redactUrl('rtmp://a.live-video.net/app/live_123_secret?x=y')).toBe(
      'rtmp://a.live-video.net/app/***',
    );
    expect(redactUrl('rtmps://host:443/k')).toBe('rtmps://host:443/k');
    expect(redactUrl('bogus')).toBe('***');
  });
});
