'use strict';
// The addon is built by node-gyp against the system libsrtp2 (Debian libsrtp2-dev) at install time.
// Loading this file in several worker_threads is fine: each thread gets its own addon instance (N-API env),
// libsrtp itself is initialised once per process (see src/srtp_addon.c).
const { randomBytes } = require('node:crypto');
const native = require('./build/Release/parley_srtp.node');

/** What the binding throws: `code` is 'SRTP_<libsrtp status>' (e.g. SRTP_AUTH_FAIL) or one of its own. */
class SrtpError extends Error {
  constructor(message, code, status) {
    super(message);
    this.name = 'SrtpError';
    this.code = code;
    this.status = status;
  }
}
native.setErrorClass(SrtpError);

function generateKeyBase64(suite) {
  return randomBytes(native.keyLength(suite)).toString('base64');
}

module.exports = {
  SrtpSession: native.SrtpSession,
  SrtpError,
  keyLength: native.keyLength,
  generateKeyBase64,
  version: native.version,
};
