/*
 * Minimal N-API binding over the system libsrtp2 (Debian libsrtp2-dev, 2.5): SDES-SRTP for the media threads.
 * One session protects OR unprotects (RFC 3711), keyed by the base64 key||salt of an SDP a=crypto line (RFC 4568).
 *
 * SrtpSession({ suite, keyBase64, direction }): protectRtp/protectRtcp(Buffer) -> Buffer,
 *   unprotectRtp/unprotectRtcp(Buffer) -> Buffer | null, close()
 * keyLength(suite) -> number, version() -> string, setErrorClass(SrtpError) (called once per thread by index.js)
 *
 * Threads: libsrtp's crypto kernel is process-global, so srtp_init() runs exactly once per process (pthread_once)
 * and srtp_shutdown() never (another worker thread may still use it). Everything else is per session or per
 * napi_env (instance data), so the addon loads in any number of worker_threads. A session belongs to the thread
 * that created it (libsrtp contexts are not thread-safe) — N-API already forbids using its object elsewhere.
 */
#define NAPI_VERSION 8
#include <node_api.h>
#include <pthread.h>
#include <srtp.h>
#include <stdint.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#define MAX_PACKET 65535                          /* largest UDP payload */
#define MAX_GROWTH (SRTP_MAX_TRAILER_LEN + 4)     /* auth tag + MKI, + the 4-byte SRTCP index (srtp.h warnings) */
#define STACK_SCRATCH 2048                        /* packets up to this size are processed without malloc */
#define MAX_KEY_CHARS 256

#define CHECK(call)                                                         \
  do {                                                                      \
    if ((call) != napi_ok) {                                                \
      napi_throw_error(env, NULL, "parley_srtp: N-API call failed: " #call); \
      return NULL;                                                          \
    }                                                                       \
  } while (0)

/* ---------------------------------------------------------------- process-wide libsrtp init */

static pthread_once_t init_once = PTHREAD_ONCE_INIT;
static srtp_err_status_t init_status = srtp_err_status_init_fail;

static void srtp_init_once(void) { init_status = srtp_init(); }

/* ---------------------------------------------------------------- suites (SDP a=crypto names, RFC 4568/7714) */

typedef struct {
  const char *name;
  srtp_profile_t profile;
  int salt_len;
} Suite;

static const Suite SUITES[] = {
    {"AES_CM_128_HMAC_SHA1_80", srtp_profile_aes128_cm_sha1_80, SRTP_SALT_LEN},
    /* 32-bit tag on RTP only: libsrtp keeps the 80-bit tag on SRTCP (RFC 3711 §5.2, as mediasoup does). */
    {"AES_CM_128_HMAC_SHA1_32", srtp_profile_aes128_cm_sha1_32, SRTP_SALT_LEN},
    {"AEAD_AES_128_GCM", srtp_profile_aead_aes_128_gcm, SRTP_AEAD_SALT_LEN},
    {"AEAD_AES_256_GCM", srtp_profile_aead_aes_256_gcm, SRTP_AEAD_SALT_LEN},
};
#define N_SUITES (sizeof SUITES / sizeof SUITES[0])

/* master key + salt bytes, as libsrtp's own policy for the profile states it */
static int suite_key_len(const Suite *s) {
  srtp_crypto_policy_t p;
  memset(&p, 0, sizeof p);
  if (srtp_crypto_policy_set_from_profile_for_rtp(&p, s->profile) != srtp_err_status_ok) return -1;
  return p.cipher_key_len;
}

/* ---------------------------------------------------------------- errors */

/* Per-env state: the JS SrtpError class (index.js hands it over). */
typedef struct {
  napi_ref error_class;
} EnvData;

static void env_data_finalize(napi_env env, void *data, void *hint) {
  (void)hint;
  EnvData *d = data;
  if (d->error_class) napi_delete_reference(env, d->error_class);
  free(d);
}

static const char *const STATUS_NAMES[] = {
    "OK",         "FAIL",        "BAD_PARAM",  "ALLOC_FAIL",  "DEALLOC_FAIL", "INIT_FAIL",     "TERMINUS",
    "AUTH_FAIL",  "CIPHER_FAIL", "REPLAY_FAIL", "REPLAY_OLD", "ALGO_FAIL",    "NO_SUCH_OP",    "NO_CTX",
    "CANT_CHECK", "KEY_EXPIRED", "SOCKET_ERR", "SIGNAL_ERR",  "NONCE_BAD",    "READ_FAIL",     "WRITE_FAIL",
    "PARSE_ERR",  "ENCODE_ERR",  "SEMAPHORE_ERR", "PFKEY_ERR", "BAD_MKI",     "PKT_IDX_OLD",   "PKT_IDX_ADV",
};

/* Throws an SrtpError(message, code, status) — or a plain Error with .code when index.js was bypassed. */
static napi_value throw_srtp(napi_env env, const char *code, int status, const char *message) {
  EnvData *d = NULL;
  napi_value ctor = NULL, argv[3], err;
  if (napi_get_instance_data(env, (void **)&d) == napi_ok && d && d->error_class &&
      napi_get_reference_value(env, d->error_class, &ctor) == napi_ok && ctor &&
      napi_create_string_utf8(env, message, NAPI_AUTO_LENGTH, &argv[0]) == napi_ok &&
      napi_create_string_utf8(env, code, NAPI_AUTO_LENGTH, &argv[1]) == napi_ok &&
      napi_create_int32(env, status, &argv[2]) == napi_ok && napi_new_instance(env, ctor, 3, argv, &err) == napi_ok) {
    napi_throw(env, err);
  } else {
    bool pending = false;
    napi_is_exception_pending(env, &pending);
    if (!pending) napi_throw_error(env, code, message);
  }
  return NULL;
}

static napi_value throw_status(napi_env env, const char *what, srtp_err_status_t status) {
  char code[32], msg[160];
  const char *name = (unsigned)status < sizeof STATUS_NAMES / sizeof STATUS_NAMES[0] ? STATUS_NAMES[status] : "UNKNOWN";
  snprintf(code, sizeof code, "SRTP_%s", name);
  snprintf(msg, sizeof msg, "parley_srtp: %s failed: srtp_err_status %d (%s)", what, (int)status, name);
  return throw_srtp(env, code, (int)status, msg);
}

/* ---------------------------------------------------------------- argument helpers */

/* A string argument into buf; 0 after throwing when it is not a string, or (SrtpError `code`) is longer than cap - 1. */
static int get_string(napi_env env, napi_value v, char *buf, size_t cap, size_t *len, const char *name,
                      const char *code) {
  napi_valuetype t;
  char msg[96];
  if (napi_typeof(env, v, &t) != napi_ok || t != napi_string) {
    snprintf(msg, sizeof msg, "parley_srtp: %s must be a string", name);
    napi_throw_type_error(env, NULL, msg);
    return 0;
  }
  size_t full = 0;
  napi_get_value_string_utf8(env, v, NULL, 0, &full);
  if (full >= cap) {
    snprintf(msg, sizeof msg, "parley_srtp: %s is too long (%zu characters)", name, full);
    throw_srtp(env, code, 0, msg);
    return 0;
  }
  napi_get_value_string_utf8(env, v, buf, cap, len);
  return 1;
}

static const Suite *find_suite(napi_env env, napi_value v) {
  char name[48];
  size_t len;
  if (!get_string(env, v, name, sizeof name, &len, "suite", "SRTP_BAD_SUITE")) return NULL;
  for (size_t i = 0; i < N_SUITES; i++)
    if (strcmp(SUITES[i].name, name) == 0) return &SUITES[i];
  char msg[200];
  snprintf(msg, sizeof msg,
           "parley_srtp: unknown suite '%s' (AES_CM_128_HMAC_SHA1_80, AES_CM_128_HMAC_SHA1_32, AEAD_AES_128_GCM, "
           "AEAD_AES_256_GCM)",
           name);
  throw_srtp(env, "SRTP_BAD_SUITE", 0, msg);
  return NULL;
}

static int b64_value(char c) {
  if (c >= 'A' && c <= 'Z') return c - 'A';
  if (c >= 'a' && c <= 'z') return c - 'a' + 26;
  if (c >= '0' && c <= '9') return c - '0' + 52;
  if (c == '+') return 62;
  if (c == '/') return 63;
  return -1;
}

/*
 * Strict base64 (RFC 4648 §4, the alphabet RFC 4568 uses): '=' padding optional but only at the end, nothing
 * else tolerated (Node's Buffer.from(s, 'base64') silently skips junk, which would hide a truncated key).
 * Returns the decoded length, or -1 with an explanation in msg.
 */
static int b64_decode(const char *s, size_t n, unsigned char *out, size_t cap, char *msg, size_t msg_cap) {
  size_t m = n;
  while (m > 0 && n - m < 2 && s[m - 1] == '=') m--;
  for (size_t i = 0; i < m; i++) {
    if (b64_value(s[i]) < 0) {
      if (s[i] == '|')
        snprintf(msg, msg_cap, "keyBase64 is not base64: '|' at offset %zu (pass only the key||salt of "
                 "inline:, without |lifetime|MKI)", i);
      else
        snprintf(msg, msg_cap, "keyBase64 is not base64: invalid character 0x%02x at offset %zu",
                 (unsigned char)s[i], i);
      return -1;
    }
  }
  if ((m != n && n % 4 != 0) || m % 4 == 1) {
    snprintf(msg, msg_cap, "keyBase64 is not base64: bad length %zu (padding or truncation)", n);
    return -1;
  }
  size_t len = m / 4 * 3 + (m % 4 ? m % 4 - 1 : 0);
  if (len > cap) {
    snprintf(msg, msg_cap, "keyBase64 decodes to %zu bytes", len);
    return (int)len; /* caller reports the length mismatch */
  }
  uint32_t acc = 0;
  size_t o = 0;
  for (size_t i = 0; i < m; i++) {
    acc = (acc << 6) | (uint32_t)b64_value(s[i]);
    if (i % 4 == 3) {
      out[o++] = (unsigned char)(acc >> 16);
      out[o++] = (unsigned char)(acc >> 8);
      out[o++] = (unsigned char)acc;
      acc = 0;
    }
  }
  if (m % 4 == 2) out[o++] = (unsigned char)(acc >> 4);
  if (m % 4 == 3) {
    out[o++] = (unsigned char)(acc >> 10);
    out[o++] = (unsigned char)(acc >> 2);
  }
  return (int)o;
}

/* ---------------------------------------------------------------- the session */

/* The state behind one JS SrtpSession; `srtp` is NULL once closed. */
typedef struct {
  srtp_t srtp;
  int outbound; /* 1: protect (our key), 0: unprotect (the peer's key) */
} Session;

/* Tags SrtpSession objects so a method borrowed onto another wrapped object (e.g. an @parley/opus Encoder) is
 * refused instead of misreading its native pointer. */
static const napi_type_tag SESSION_TAG = {0x7061726c65792d73ULL, 0x7274702d73657373ULL};

static void session_free(Session *s) {
  if (s->srtp) srtp_dealloc(s->srtp);
  s->srtp = NULL;
}

static void session_finalize(napi_env env, void *data, void *hint) {
  (void)env; (void)hint;
  session_free(data);
  free(data);
}

/* The Session behind `this`, or NULL after throwing; `open` demands it not be closed. */
static Session *unwrap(napi_env env, napi_callback_info info, size_t *argc, napi_value *argv, int open) {
  napi_value self;
  void *data = NULL;
  bool tagged = false;
  if (napi_get_cb_info(env, info, argc, argv, &self, NULL) != napi_ok) return NULL;
  if (napi_check_object_type_tag(env, self, &SESSION_TAG, &tagged) != napi_ok || !tagged ||
      napi_unwrap(env, self, &data) != napi_ok || data == NULL) {
    napi_throw_type_error(env, NULL, "parley_srtp: not an SrtpSession");
    return NULL;
  }
  Session *s = data;
  if (open && s->srtp == NULL) {
    throw_srtp(env, "SRTP_CLOSED", 0, "parley_srtp: SrtpSession is closed");
    return NULL;
  }
  return s;
}

static napi_value session_new(napi_env env, napi_callback_info info) {
  static const char usage[] =
      "parley_srtp: new SrtpSession({ suite, keyBase64, direction: 'inbound' | 'outbound' })";
  size_t argc = 1;
  napi_value argv[1], self, target, v;
  napi_valuetype t = napi_undefined;
  CHECK(napi_get_cb_info(env, info, &argc, argv, &self, NULL));
  CHECK(napi_get_new_target(env, info, &target));
  if (target == NULL || argc < 1 || napi_typeof(env, argv[0], &t) != napi_ok || t != napi_object) {
    napi_throw_type_error(env, NULL, usage);
    return NULL;
  }

  CHECK(napi_get_named_property(env, argv[0], "suite", &v));
  const Suite *suite = find_suite(env, v);
  if (!suite) return NULL;

  char dir[16];
  size_t len;
  CHECK(napi_get_named_property(env, argv[0], "direction", &v));
  if (!get_string(env, v, dir, sizeof dir, &len, "direction", "SRTP_BAD_DIRECTION")) return NULL;
  int outbound = strcmp(dir, "outbound") == 0;
  if (!outbound && strcmp(dir, "inbound") != 0) {
    throw_srtp(env, "SRTP_BAD_DIRECTION", 0, "parley_srtp: direction must be 'inbound' or 'outbound'");
    return NULL;
  }

  char b64[MAX_KEY_CHARS], msg[200];
  unsigned char key[64];
  CHECK(napi_get_named_property(env, argv[0], "keyBase64", &v));
  if (!get_string(env, v, b64, sizeof b64, &len, "keyBase64", "SRTP_BAD_KEY")) return NULL;
  int want = suite_key_len(suite);
  int got = b64_decode(b64, len, key, sizeof key, msg, sizeof msg);
  if (got < 0) {
    char full[240];
    snprintf(full, sizeof full, "parley_srtp: %s", msg);
    return throw_srtp(env, "SRTP_BAD_KEY", 0, full);
  }
  if (got != want) {
    snprintf(msg, sizeof msg,
             "parley_srtp: keyBase64 decodes to %d bytes; %s needs %d (master key %d + salt %d)", got, suite->name,
             want, want - suite->salt_len, suite->salt_len);
    memset(key, 0, sizeof key);
    return throw_srtp(env, "SRTP_BAD_KEY", 0, msg);
  }

  srtp_policy_t policy;
  memset(&policy, 0, sizeof policy);
  srtp_crypto_policy_set_from_profile_for_rtp(&policy.rtp, suite->profile);
  srtp_crypto_policy_set_from_profile_for_rtcp(&policy.rtcp, suite->profile);
  /* Wildcard SSRC: a phone that changes SSRC mid-call gets a fresh stream (cloned from the template) instead of
   * being dropped; inbound clones are made only after a packet authenticates. */
  policy.ssrc.type = outbound ? ssrc_any_outbound : ssrc_any_inbound;
  policy.key = key;
  policy.window_size = 0; /* libsrtp's default replay window, 128 packets */
  policy.allow_repeat_tx = outbound; /* resending a packet (same seq, same payload) is not an error */
  policy.next = NULL;

  Session *s = calloc(1, sizeof *s);
  if (s == NULL) {
    memset(key, 0, sizeof key);
    napi_throw_error(env, NULL, "parley_srtp: out of memory");
    return NULL;
  }
  srtp_err_status_t st = srtp_create(&s->srtp, &policy);
  memset(key, 0, sizeof key); /* libsrtp keeps only the derived session keys */
  if (st != srtp_err_status_ok) {
    s->srtp = NULL;
    free(s);
    return throw_status(env, "srtp_create", st);
  }
  s->outbound = outbound;
  if (napi_wrap(env, self, s, session_finalize, NULL, NULL) != napi_ok) {
    session_free(s);
    free(s);
    napi_throw_error(env, NULL, "parley_srtp: napi_wrap failed");
    return NULL;
  }
  CHECK(napi_type_tag_object(env, self, &SESSION_TAG));
  napi_value suite_v, dir_v;
  napi_property_descriptor props[] = {
      {"suite", NULL, NULL, NULL, NULL, NULL, napi_enumerable, NULL},
      {"direction", NULL, NULL, NULL, NULL, NULL, napi_enumerable, NULL},
  };
  CHECK(napi_create_string_utf8(env, suite->name, NAPI_AUTO_LENGTH, &suite_v));
  CHECK(napi_create_string_utf8(env, outbound ? "outbound" : "inbound", NAPI_AUTO_LENGTH, &dir_v));
  props[0].value = suite_v;
  props[1].value = dir_v;
  CHECK(napi_define_properties(env, self, 2, props)); /* read-only */
  return self;
}

/* close(): frees the libsrtp session now (the finalizer would later); idempotent. */
static napi_value session_close(napi_env env, napi_callback_info info) {
  size_t argc = 0;
  Session *s = unwrap(env, info, &argc, NULL, 0);
  if (s) session_free(s);
  return NULL;
}

enum { OP_PROTECT_RTP, OP_PROTECT_RTCP, OP_UNPROTECT_RTP, OP_UNPROTECT_RTCP };

static const char *const OP_NAMES[] = {"protectRtp", "protectRtcp", "unprotectRtp", "unprotectRtcp"};

/*
 * The four packet methods. libsrtp works in place, wants the packet 32-bit aligned and room for the trailer
 * after it, so the packet is copied into an aligned scratch buffer and the result copied out into a new Buffer.
 * Protect throws on failure; unprotect returns null for anything a peer (or an attacker) could have sent.
 */
static napi_value transform(napi_env env, napi_callback_info info, int op) {
  size_t argc = 1;
  napi_value argv[1] = {NULL};
  Session *s = unwrap(env, info, &argc, argv, 1);
  if (!s) return NULL;
  int protect = op == OP_PROTECT_RTP || op == OP_PROTECT_RTCP;
  int rtcp = op == OP_PROTECT_RTCP || op == OP_UNPROTECT_RTCP;
  char msg[160];
  if (protect != s->outbound) {
    snprintf(msg, sizeof msg, "parley_srtp: %s on an %s session", OP_NAMES[op], s->outbound ? "outbound" : "inbound");
    return throw_srtp(env, "SRTP_WRONG_DIRECTION", 0, msg);
  }
  bool is_buffer = false;
  if (argc < 1 || napi_is_buffer(env, argv[0], &is_buffer) != napi_ok || !is_buffer) {
    snprintf(msg, sizeof msg, "parley_srtp: %s(packet: Buffer)", OP_NAMES[op]);
    napi_throw_type_error(env, NULL, msg);
    return NULL;
  }
  void *in;
  size_t in_len;
  CHECK(napi_get_buffer_info(env, argv[0], &in, &in_len));

  napi_value out = NULL;
  size_t min_len = rtcp ? 8 : 12; /* RTCP common header + sender SSRC, RTP fixed header (RFC 3550) */
  if (in_len < min_len || in_len > MAX_PACKET) {
    if (!protect) {
      CHECK(napi_get_null(env, &out));
      return out;
    }
    snprintf(msg, sizeof msg, "parley_srtp: %s: packet of %zu bytes (must be %zu..%d)", OP_NAMES[op], in_len,
             min_len, MAX_PACKET);
    return throw_srtp(env, "SRTP_BAD_PACKET", 0, msg);
  }

  uint32_t stack_buf[(STACK_SCRATCH + MAX_GROWTH + 3) / 4];
  uint32_t *buf = stack_buf;
  if (in_len + MAX_GROWTH > sizeof stack_buf) {
    buf = malloc(in_len + MAX_GROWTH); /* malloc's alignment suffices */
    if (buf == NULL) {
      napi_throw_error(env, NULL, "parley_srtp: out of memory");
      return NULL;
    }
  }
  memcpy(buf, in, in_len);
  int len = (int)in_len;
  srtp_err_status_t st;
  switch (op) {
    case OP_PROTECT_RTP: st = srtp_protect(s->srtp, buf, &len); break;
    case OP_PROTECT_RTCP: st = srtp_protect_rtcp(s->srtp, buf, &len); break;
    case OP_UNPROTECT_RTP: st = srtp_unprotect(s->srtp, buf, &len); break;
    default: st = srtp_unprotect_rtcp(s->srtp, buf, &len); break;
  }
  napi_status ns = napi_ok;
  if (st == srtp_err_status_ok && len >= 0 && (size_t)len <= in_len + MAX_GROWTH) {
    void *copy;
    ns = napi_create_buffer_copy(env, (size_t)len, buf, &copy, &out);
  } else if (protect) {
    if (buf != stack_buf) free(buf);
    return throw_status(env, OP_NAMES[op], st);
  } else {
    ns = napi_get_null(env, &out);
  }
  if (buf != stack_buf) free(buf);
  if (ns != napi_ok) {
    napi_throw_error(env, NULL, "parley_srtp: could not create the result Buffer");
    return NULL;
  }
  return out;
}

static napi_value protect_rtp(napi_env env, napi_callback_info info) { return transform(env, info, OP_PROTECT_RTP); }
static napi_value protect_rtcp(napi_env env, napi_callback_info info) { return transform(env, info, OP_PROTECT_RTCP); }
static napi_value unprotect_rtp(napi_env env, napi_callback_info info) {
  return transform(env, info, OP_UNPROTECT_RTP);
}
static napi_value unprotect_rtcp(napi_env env, napi_callback_info info) {
  return transform(env, info, OP_UNPROTECT_RTCP);
}

/* ---------------------------------------------------------------- module functions */

static napi_value key_length(napi_env env, napi_callback_info info) {
  size_t argc = 1;
  napi_value argv[1] = {NULL}, out;
  CHECK(napi_get_cb_info(env, info, &argc, argv, NULL, NULL));
  if (argc < 1) {
    napi_throw_type_error(env, NULL, "parley_srtp: keyLength(suite)");
    return NULL;
  }
  const Suite *suite = find_suite(env, argv[0]);
  if (!suite) return NULL;
  CHECK(napi_create_int32(env, suite_key_len(suite), &out));
  return out;
}

static napi_value version(napi_env env, napi_callback_info info) {
  (void)info;
  napi_value out;
  CHECK(napi_create_string_utf8(env, srtp_get_version_string(), NAPI_AUTO_LENGTH, &out));
  return out;
}

/* setErrorClass(ctor): the class SrtpErrors are made with in this thread (replaces an earlier one). */
static napi_value set_error_class(napi_env env, napi_callback_info info) {
  size_t argc = 1;
  napi_value argv[1] = {NULL};
  napi_valuetype t = napi_undefined;
  EnvData *d = NULL;
  CHECK(napi_get_cb_info(env, info, &argc, argv, NULL, NULL));
  if (argc < 1 || napi_typeof(env, argv[0], &t) != napi_ok || t != napi_function) {
    napi_throw_type_error(env, NULL, "parley_srtp: setErrorClass(ctor: Function)");
    return NULL;
  }
  CHECK(napi_get_instance_data(env, (void **)&d));
  if (d->error_class) CHECK(napi_delete_reference(env, d->error_class));
  d->error_class = NULL;
  CHECK(napi_create_reference(env, argv[0], 1, &d->error_class));
  return NULL;
}

/* Runs once per napi_env: the main thread and every worker_thread that loads the addon. */
NAPI_MODULE_INIT() {
  pthread_once(&init_once, srtp_init_once);
  if (init_status != srtp_err_status_ok) {
    char msg[96];
    snprintf(msg, sizeof msg, "parley_srtp: srtp_init failed: srtp_err_status %d", (int)init_status);
    napi_throw_error(env, "SRTP_INIT_FAIL", msg);
    return NULL;
  }
  EnvData *d = calloc(1, sizeof *d);
  if (d == NULL) {
    napi_throw_error(env, NULL, "parley_srtp: out of memory");
    return NULL;
  }
  if (napi_set_instance_data(env, d, env_data_finalize, NULL) != napi_ok) {
    free(d);
    napi_throw_error(env, NULL, "parley_srtp: napi_set_instance_data failed");
    return NULL;
  }
  napi_property_descriptor methods[] = {
      {"protectRtp", NULL, protect_rtp, NULL, NULL, NULL, napi_default, NULL},
      {"protectRtcp", NULL, protect_rtcp, NULL, NULL, NULL, napi_default, NULL},
      {"unprotectRtp", NULL, unprotect_rtp, NULL, NULL, NULL, napi_default, NULL},
      {"unprotectRtcp", NULL, unprotect_rtcp, NULL, NULL, NULL, napi_default, NULL},
      {"close", NULL, session_close, NULL, NULL, NULL, napi_default, NULL},
  };
  napi_value cls;
  CHECK(napi_define_class(env, "SrtpSession", NAPI_AUTO_LENGTH, session_new, NULL,
                          sizeof methods / sizeof methods[0], methods, &cls));
  napi_property_descriptor exported[] = {
      {"SrtpSession", NULL, NULL, NULL, NULL, cls, napi_enumerable, NULL},
      {"keyLength", NULL, key_length, NULL, NULL, NULL, napi_enumerable, NULL},
      {"version", NULL, version, NULL, NULL, NULL, napi_enumerable, NULL},
      {"setErrorClass", NULL, set_error_class, NULL, NULL, NULL, napi_enumerable, NULL},
  };
  CHECK(napi_define_properties(env, exports, sizeof exported / sizeof exported[0], exported));
  return exports;
}
