/*
 * Minimal N-API binding over the system libopus: what the Parley mixer needs and the npm bindings lack.
 * @discordjs/opus and opusscript never pass decode_fec = 1 to opus_decode(), so a lost packet could only be
 * concealed (PLC), never recovered from the in-band FEC (LBRR frames, RFC 6716 §2.1.7) of the packet after it.
 *
 * Encoder(sampleRate, channels, application): encode(Int16Array) -> Buffer, ctl(request, int32), close()
 * Decoder(sampleRate, channels): decode(Buffer|null, maxSamples, fec) -> Int16Array, packetSamples(Buffer), close()
 * version() -> string
 *
 * Errors are thrown as JS Errors carrying libopus's own message (opus_strerror) and code.
 */
#define NAPI_VERSION 8
#include <node_api.h>
#include <opus.h>
#include <stdlib.h>
#include <string.h>

#define MAX_PACKET 1500          /* one RTP payload */
#define MAX_FRAME_SAMPLES 5760   /* 120 ms at 48 kHz, the longest Opus packet (RFC 6716 §3.2.5) */

#define CHECK(call)                                                       \
  do {                                                                    \
    if ((call) != napi_ok) {                                              \
      napi_throw_error(env, NULL, "parley_opus: N-API call failed: " #call); \
      return NULL;                                                        \
    }                                                                     \
  } while (0)

typedef struct {
  OpusEncoder *enc;
  int channels;
} EncoderBox;

typedef struct {
  OpusDecoder *dec;
  int channels;
  int sampleRate;
} DecoderBox;

static napi_value throw_opus(napi_env env, const char *what, int err) {
  char msg[160];
  char code[16];
  snprintf(msg, sizeof msg, "%s: %s", what, opus_strerror(err));
  snprintf(code, sizeof code, "OPUS_%d", err);
  napi_throw_error(env, code, msg);
  return NULL;
}

static int get_int(napi_env env, napi_value v, int32_t *out, const char *name) {
  napi_valuetype t;
  if (napi_typeof(env, v, &t) != napi_ok || t != napi_number) {
    char msg[96];
    snprintf(msg, sizeof msg, "parley_opus: %s must be a number", name);
    napi_throw_type_error(env, NULL, msg);
    return 0;
  }
  napi_get_value_int32(env, v, out);
  return 1;
}

/* ---------------------------------------------------------------- encoder */

static void encoder_finalize(napi_env env, void *data, void *hint) {
  (void)env; (void)hint;
  EncoderBox *box = data;
  if (box->enc) opus_encoder_destroy(box->enc);
  free(box);
}

static EncoderBox *unwrap_encoder(napi_env env, napi_callback_info info, size_t *argc, napi_value *argv) {
  napi_value self;
  void *data = NULL;
  if (napi_get_cb_info(env, info, argc, argv, &self, NULL) != napi_ok) return NULL;
  if (napi_unwrap(env, self, &data) != napi_ok || data == NULL) {
    napi_throw_error(env, NULL, "parley_opus: not an Encoder");
    return NULL;
  }
  EncoderBox *box = data;
  if (box->enc == NULL) {
    napi_throw_error(env, NULL, "parley_opus: encoder is closed");
    return NULL;
  }
  return box;
}

static napi_value encoder_new(napi_env env, napi_callback_info info) {
  size_t argc = 3;
  napi_value argv[3], self;
  int32_t rate, channels, application;
  CHECK(napi_get_cb_info(env, info, &argc, argv, &self, NULL));
  if (argc < 3) {
    napi_throw_type_error(env, NULL, "parley_opus: Encoder(sampleRate, channels, application)");
    return NULL;
  }
  if (!get_int(env, argv[0], &rate, "sampleRate") || !get_int(env, argv[1], &channels, "channels") ||
      !get_int(env, argv[2], &application, "application"))
    return NULL;
  int err = OPUS_OK;
  OpusEncoder *enc = opus_encoder_create(rate, channels, application, &err);
  if (err != OPUS_OK || enc == NULL) return throw_opus(env, "opus_encoder_create", err);
  EncoderBox *box = calloc(1, sizeof *box);
  box->enc = enc;
  box->channels = channels;
  CHECK(napi_wrap(env, self, box, encoder_finalize, NULL, NULL));
  return self;
}

static napi_value encoder_encode(napi_env env, napi_callback_info info) {
  size_t argc = 1;
  napi_value argv[1];
  EncoderBox *box = unwrap_encoder(env, info, &argc, argv);
  if (!box) return NULL;
  bool is_ta = false;
  napi_is_typedarray(env, argv[0], &is_ta);
  if (argc < 1 || !is_ta) {
    napi_throw_type_error(env, NULL, "parley_opus: encode(pcm: Int16Array)");
    return NULL;
  }
  napi_typedarray_type type;
  size_t length;
  void *data;
  CHECK(napi_get_typedarray_info(env, argv[0], &type, &length, &data, NULL, NULL));
  if (type != napi_int16_array) {
    napi_throw_type_error(env, NULL, "parley_opus: encode(pcm: Int16Array)");
    return NULL;
  }
  unsigned char packet[MAX_PACKET];
  int n = opus_encode(box->enc, (const opus_int16 *)data, (int)(length / (size_t)box->channels), packet, MAX_PACKET);
  if (n < 0) return throw_opus(env, "opus_encode", n);
  napi_value out;
  void *copy;
  CHECK(napi_create_buffer_copy(env, (size_t)n, packet, &copy, &out));
  return out;
}

static napi_value encoder_ctl(napi_env env, napi_callback_info info) {
  size_t argc = 2;
  napi_value argv[2];
  EncoderBox *box = unwrap_encoder(env, info, &argc, argv);
  if (!box) return NULL;
  int32_t request, value;
  if (argc < 2 || !get_int(env, argv[0], &request, "request") || !get_int(env, argv[1], &value, "value")) return NULL;
  int err;
  /* Only the setters that take one opus_int32; getters would need a pointer and are not exposed. */
  switch (request) {
    case OPUS_SET_APPLICATION_REQUEST: err = opus_encoder_ctl(box->enc, OPUS_SET_APPLICATION(value)); break;
    case OPUS_SET_BITRATE_REQUEST: err = opus_encoder_ctl(box->enc, OPUS_SET_BITRATE(value)); break;
    case OPUS_SET_MAX_BANDWIDTH_REQUEST: err = opus_encoder_ctl(box->enc, OPUS_SET_MAX_BANDWIDTH(value)); break;
    case OPUS_SET_VBR_REQUEST: err = opus_encoder_ctl(box->enc, OPUS_SET_VBR(value)); break;
    case OPUS_SET_BANDWIDTH_REQUEST: err = opus_encoder_ctl(box->enc, OPUS_SET_BANDWIDTH(value)); break;
    case OPUS_SET_COMPLEXITY_REQUEST: err = opus_encoder_ctl(box->enc, OPUS_SET_COMPLEXITY(value)); break;
    case OPUS_SET_INBAND_FEC_REQUEST: err = opus_encoder_ctl(box->enc, OPUS_SET_INBAND_FEC(value)); break;
    case OPUS_SET_PACKET_LOSS_PERC_REQUEST: err = opus_encoder_ctl(box->enc, OPUS_SET_PACKET_LOSS_PERC(value)); break;
    case OPUS_SET_DTX_REQUEST: err = opus_encoder_ctl(box->enc, OPUS_SET_DTX(value)); break;
    case OPUS_SET_SIGNAL_REQUEST: err = opus_encoder_ctl(box->enc, OPUS_SET_SIGNAL(value)); break;
    default: {
      char msg[96];
      snprintf(msg, sizeof msg, "parley_opus: ctl request %d is not supported", request);
      napi_throw_range_error(env, NULL, msg);
      return NULL;
    }
  }
  if (err != OPUS_OK) return throw_opus(env, "opus_encoder_ctl", err);
  return NULL;
}

static napi_value encoder_close(napi_env env, napi_callback_info info) {
  napi_value self;
  void *data = NULL;
  CHECK(napi_get_cb_info(env, info, NULL, NULL, &self, NULL));
  if (napi_unwrap(env, self, &data) == napi_ok && data) {
    EncoderBox *box = data;
    if (box->enc) opus_encoder_destroy(box->enc);
    box->enc = NULL;
  }
  return NULL;
}

/* ---------------------------------------------------------------- decoder */

static void decoder_finalize(napi_env env, void *data, void *hint) {
  (void)env; (void)hint;
  DecoderBox *box = data;
  if (box->dec) opus_decoder_destroy(box->dec);
  free(box);
}

static DecoderBox *unwrap_decoder(napi_env env, napi_callback_info info, size_t *argc, napi_value *argv) {
  napi_value self;
  void *data = NULL;
  if (napi_get_cb_info(env, info, argc, argv, &self, NULL) != napi_ok) return NULL;
  if (napi_unwrap(env, self, &data) != napi_ok || data == NULL) {
    napi_throw_error(env, NULL, "parley_opus: not a Decoder");
    return NULL;
  }
  DecoderBox *box = data;
  if (box->dec == NULL) {
    napi_throw_error(env, NULL, "parley_opus: decoder is closed");
    return NULL;
  }
  return box;
}

static napi_value decoder_new(napi_env env, napi_callback_info info) {
  size_t argc = 2;
  napi_value argv[2], self;
  int32_t rate, channels;
  CHECK(napi_get_cb_info(env, info, &argc, argv, &self, NULL));
  if (argc < 2) {
    napi_throw_type_error(env, NULL, "parley_opus: Decoder(sampleRate, channels)");
    return NULL;
  }
  if (!get_int(env, argv[0], &rate, "sampleRate") || !get_int(env, argv[1], &channels, "channels")) return NULL;
  int err = OPUS_OK;
  OpusDecoder *dec = opus_decoder_create(rate, channels, &err);
  if (err != OPUS_OK || dec == NULL) return throw_opus(env, "opus_decoder_create", err);
  DecoderBox *box = calloc(1, sizeof *box);
  box->dec = dec;
  box->channels = channels;
  box->sampleRate = rate;
  CHECK(napi_wrap(env, self, box, decoder_finalize, NULL, NULL));
  return self;
}

/* Reads an optional Buffer argument: NULL data for null/undefined. Returns 0 after throwing on a bad type. */
static int get_packet(napi_env env, napi_value v, const unsigned char **data, size_t *len) {
  napi_valuetype t;
  napi_typeof(env, v, &t);
  if (t == napi_null || t == napi_undefined) {
    *data = NULL;
    *len = 0;
    return 1;
  }
  bool is_buffer = false;
  napi_is_buffer(env, v, &is_buffer);
  if (!is_buffer) {
    napi_throw_type_error(env, NULL, "parley_opus: packet must be a Buffer or null");
    return 0;
  }
  void *d;
  napi_get_buffer_info(env, v, &d, len);
  *data = d;
  return 1;
}

static napi_value decoder_decode(napi_env env, napi_callback_info info) {
  size_t argc = 3;
  napi_value argv[3];
  DecoderBox *box = unwrap_decoder(env, info, &argc, argv);
  if (!box) return NULL;
  if (argc < 3) {
    napi_throw_type_error(env, NULL, "parley_opus: decode(packet, maxSamples, fec)");
    return NULL;
  }
  const unsigned char *packet;
  size_t len;
  int32_t max_samples;
  bool fec = false;
  if (!get_packet(env, argv[0], &packet, &len) || !get_int(env, argv[1], &max_samples, "maxSamples")) return NULL;
  napi_get_value_bool(env, argv[2], &fec);
  if (max_samples <= 0 || max_samples > MAX_FRAME_SAMPLES) {
    napi_throw_range_error(env, NULL, "parley_opus: maxSamples out of range (1..5760)");
    return NULL;
  }
  opus_int16 pcm[MAX_FRAME_SAMPLES * 2];
  int n = opus_decode(box->dec, packet, (opus_int32)len, pcm, max_samples, fec ? 1 : 0);
  if (n < 0) return throw_opus(env, "opus_decode", n);
  size_t bytes = (size_t)n * (size_t)box->channels * sizeof(opus_int16);
  napi_value ab, out;
  void *dst;
  CHECK(napi_create_arraybuffer(env, bytes, &dst, &ab));
  memcpy(dst, pcm, bytes);
  CHECK(napi_create_typedarray(env, napi_int16_array, (size_t)n * (size_t)box->channels, ab, 0, &out));
  return out;
}

static napi_value decoder_packet_samples(napi_env env, napi_callback_info info) {
  size_t argc = 1;
  napi_value argv[1];
  DecoderBox *box = unwrap_decoder(env, info, &argc, argv);
  if (!box) return NULL;
  const unsigned char *packet;
  size_t len;
  if (argc < 1 || !get_packet(env, argv[0], &packet, &len)) return NULL;
  if (packet == NULL || len == 0) return throw_opus(env, "opus_decoder_get_nb_samples", OPUS_BAD_ARG);
  int n = opus_decoder_get_nb_samples(box->dec, packet, (opus_int32)len);
  if (n < 0) return throw_opus(env, "opus_decoder_get_nb_samples", n);
  napi_value out;
  CHECK(napi_create_int32(env, n, &out));
  return out;
}

static napi_value decoder_close(napi_env env, napi_callback_info info) {
  napi_value self;
  void *data = NULL;
  CHECK(napi_get_cb_info(env, info, NULL, NULL, &self, NULL));
  if (napi_unwrap(env, self, &data) == napi_ok && data) {
    DecoderBox *box = data;
    if (box->dec) opus_decoder_destroy(box->dec);
    box->dec = NULL;
  }
  return NULL;
}

/* ---------------------------------------------------------------- module */

static napi_value version(napi_env env, napi_callback_info info) {
  (void)info;
  napi_value out;
  CHECK(napi_create_string_utf8(env, opus_get_version_string(), NAPI_AUTO_LENGTH, &out));
  return out;
}

static napi_value init(napi_env env, napi_value exports) {
  napi_property_descriptor enc_methods[] = {
      {"encode", NULL, encoder_encode, NULL, NULL, NULL, napi_default, NULL},
      {"ctl", NULL, encoder_ctl, NULL, NULL, NULL, napi_default, NULL},
      {"close", NULL, encoder_close, NULL, NULL, NULL, napi_default, NULL},
  };
  napi_property_descriptor dec_methods[] = {
      {"decode", NULL, decoder_decode, NULL, NULL, NULL, napi_default, NULL},
      {"packetSamples", NULL, decoder_packet_samples, NULL, NULL, NULL, napi_default, NULL},
      {"close", NULL, decoder_close, NULL, NULL, NULL, napi_default, NULL},
  };
  napi_value enc_class, dec_class, ver;
  CHECK(napi_define_class(env, "Encoder", NAPI_AUTO_LENGTH, encoder_new, NULL, 3, enc_methods, &enc_class));
  CHECK(napi_define_class(env, "Decoder", NAPI_AUTO_LENGTH, decoder_new, NULL, 3, dec_methods, &dec_class));
  CHECK(napi_create_function(env, "version", NAPI_AUTO_LENGTH, version, NULL, &ver));
  CHECK(napi_set_named_property(env, exports, "Encoder", enc_class));
  CHECK(napi_set_named_property(env, exports, "Decoder", dec_class));
  CHECK(napi_set_named_property(env, exports, "version", ver));
  return exports;
}

NAPI_MODULE(NODE_GYP_MODULE_NAME, init)
