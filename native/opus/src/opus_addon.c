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
#include <stdio.h>
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

/* The state behind one JS Encoder or Decoder; `state` is NULL once closed. */
typedef struct {
  void *state;
  void (*destroy)(void *state);
  const char *kind;
  int channels;
} Box;

static void destroy_encoder(void *state) { opus_encoder_destroy(state); }
static void destroy_decoder(void *state) { opus_decoder_destroy(state); }

static void box_finalize(napi_env env, void *data, void *hint) {
  (void)env; (void)hint;
  Box *box = data;
  if (box->state) box->destroy(box->state);
  free(box);
}

/* `this` of a method call, with its arguments; NULL after throwing when it is not an open `kind`. */
static Box *unwrap_open(napi_env env, napi_callback_info info, size_t *argc, napi_value *argv, const char *kind) {
  napi_value self;
  void *data = NULL;
  if (napi_get_cb_info(env, info, argc, argv, &self, NULL) != napi_ok) return NULL;
  char msg[64];
  if (napi_unwrap(env, self, &data) != napi_ok || data == NULL || strcmp(((Box *)data)->kind, kind) != 0) {
    snprintf(msg, sizeof msg, "parley_opus: not a%s %s", kind[0] == 'E' ? "n" : "", kind);
    napi_throw_error(env, NULL, msg);
    return NULL;
  }
  Box *box = data;
  if (box->state == NULL) {
    snprintf(msg, sizeof msg, "parley_opus: %s is closed", kind[0] == 'E' ? "encoder" : "decoder");
    napi_throw_error(env, NULL, msg);
    return NULL;
  }
  return box;
}

static napi_value wrap_new(napi_env env, napi_value self, void *state, void (*destroy)(void *), const char *kind,
                           int channels) {
  Box *box = calloc(1, sizeof *box);
  if (box == NULL) {
    destroy(state);
    napi_throw_error(env, NULL, "parley_opus: out of memory");
    return NULL;
  }
  box->state = state;
  box->destroy = destroy;
  box->kind = kind;
  box->channels = channels;
  CHECK(napi_wrap(env, self, box, box_finalize, NULL, NULL));
  return self;
}

/* close(): frees the state now (the finalizer would later); idempotent. */
static napi_value box_close(napi_env env, napi_callback_info info) {
  napi_value self;
  void *data = NULL;
  CHECK(napi_get_cb_info(env, info, NULL, NULL, &self, NULL));
  if (napi_unwrap(env, self, &data) == napi_ok && data) {
    Box *box = data;
    if (box->state) box->destroy(box->state);
    box->state = NULL;
  }
  return NULL;
}

static napi_value throw_opus(napi_env env, const char *what, int err) {
  char msg[160];
  char code[24];
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
  return wrap_new(env, self, enc, destroy_encoder, "Encoder", channels);
}

static napi_value encoder_encode(napi_env env, napi_callback_info info) {
  size_t argc = 1;
  napi_value argv[1];
  Box *box = unwrap_open(env, info, &argc, argv, "Encoder");
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
  int n = opus_encode(box->state, (const opus_int16 *)data, (int)(length / (size_t)box->channels), packet, MAX_PACKET);
  if (n < 0) return throw_opus(env, "opus_encode", n);
  napi_value out;
  void *copy;
  CHECK(napi_create_buffer_copy(env, (size_t)n, packet, &copy, &out));
  return out;
}

static napi_value encoder_ctl(napi_env env, napi_callback_info info) {
  size_t argc = 2;
  napi_value argv[2];
  Box *box = unwrap_open(env, info, &argc, argv, "Encoder");
  if (!box) return NULL;
  int32_t request, value;
  if (argc < 2 || !get_int(env, argv[0], &request, "request") || !get_int(env, argv[1], &value, "value")) return NULL;
  int err;
  /* Only the setters that take one opus_int32; getters would need a pointer and are not exposed. */
  switch (request) {
    case OPUS_SET_APPLICATION_REQUEST: err = opus_encoder_ctl(box->state, OPUS_SET_APPLICATION(value)); break;
    case OPUS_SET_BITRATE_REQUEST: err = opus_encoder_ctl(box->state, OPUS_SET_BITRATE(value)); break;
    case OPUS_SET_MAX_BANDWIDTH_REQUEST: err = opus_encoder_ctl(box->state, OPUS_SET_MAX_BANDWIDTH(value)); break;
    case OPUS_SET_VBR_REQUEST: err = opus_encoder_ctl(box->state, OPUS_SET_VBR(value)); break;
    case OPUS_SET_BANDWIDTH_REQUEST: err = opus_encoder_ctl(box->state, OPUS_SET_BANDWIDTH(value)); break;
    case OPUS_SET_COMPLEXITY_REQUEST: err = opus_encoder_ctl(box->state, OPUS_SET_COMPLEXITY(value)); break;
    case OPUS_SET_INBAND_FEC_REQUEST: err = opus_encoder_ctl(box->state, OPUS_SET_INBAND_FEC(value)); break;
    case OPUS_SET_PACKET_LOSS_PERC_REQUEST: err = opus_encoder_ctl(box->state, OPUS_SET_PACKET_LOSS_PERC(value)); break;
    case OPUS_SET_DTX_REQUEST: err = opus_encoder_ctl(box->state, OPUS_SET_DTX(value)); break;
    case OPUS_SET_SIGNAL_REQUEST: err = opus_encoder_ctl(box->state, OPUS_SET_SIGNAL(value)); break;
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

/* ---------------------------------------------------------------- decoder */

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
  return wrap_new(env, self, dec, destroy_decoder, "Decoder", channels);
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
  Box *box = unwrap_open(env, info, &argc, argv, "Decoder");
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
  int n = opus_decode(box->state, packet, (opus_int32)len, pcm, max_samples, fec ? 1 : 0);
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
  Box *box = unwrap_open(env, info, &argc, argv, "Decoder");
  if (!box) return NULL;
  const unsigned char *packet;
  size_t len;
  if (argc < 1 || !get_packet(env, argv[0], &packet, &len)) return NULL;
  if (packet == NULL || len == 0) return throw_opus(env, "opus_decoder_get_nb_samples", OPUS_BAD_ARG);
  int n = opus_decoder_get_nb_samples(box->state, packet, (opus_int32)len);
  if (n < 0) return throw_opus(env, "opus_decoder_get_nb_samples", n);
  napi_value out;
  CHECK(napi_create_int32(env, n, &out));
  return out;
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
      {"close", NULL, box_close, NULL, NULL, NULL, napi_default, NULL},
  };
  napi_property_descriptor dec_methods[] = {
      {"decode", NULL, decoder_decode, NULL, NULL, NULL, napi_default, NULL},
      {"packetSamples", NULL, decoder_packet_samples, NULL, NULL, NULL, napi_default, NULL},
      {"close", NULL, box_close, NULL, NULL, NULL, napi_default, NULL},
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
