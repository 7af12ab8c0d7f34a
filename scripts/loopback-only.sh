#!/usr/bin/env bash
# Runs a command in a network namespace of its own whose only interface is loopback (127.0.0.1, ::1), so that no
# test (SIP peers, mediasoup, Chromium's ICE candidates) can reach or announce the machine's real addresses.
# Falls back to running the command as it is (with a warning) where namespaces cannot be created.
set -euo pipefail
if [ "${PARLEY_IN_LOOPBACK_NS:-}" = 1 ]; then exec "$@"; fi
if command -v unshare >/dev/null && unshare -n true 2>/dev/null; then
  export PARLEY_IN_LOOPBACK_NS=1
  exec unshare -n -- bash -c 'ip link set lo up 2>/dev/null || { echo "[loopback-only] cannot bring lo up" >&2; exit 1; }; exec "$@"' bash "$@"
fi
echo "[loopback-only] cannot create a network namespace here; running without one" >&2
exec "$@"
