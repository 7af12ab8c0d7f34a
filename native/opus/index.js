'use strict';
// The addon is built by node-gyp against the system libopus (Debian libopus-dev) at install time.
module.exports = require('./build/Release/parley_opus.node');
