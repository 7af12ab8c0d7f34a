#!/usr/bin/env bash
# Installs whatever is missing for Parley on a Debian 12 machine, then builds it:
#   Debian packages (apt-get), Meson >= 1.1 (pip), npm packages, the mediasoup worker (offline build, cached),
#   the spoken prompts, and the TypeScript build. Every step is skipped when already done.
#   --test   also install the real peers the test suite drives (SIPp, baresip, iproute2's ss, procps)
#   --bench  also install the reference servers the benchmarks compare against (Janus)
set -euo pipefail
root="$(cd "$(dirname "${BASH_SOURCE[0]}")/.." && pwd)"
cd "$root"
log() { echo "[setup] $*"; }

with_test=0
with_bench=0
for a in "$@"; do
  case "$a" in
    --test) with_test=1 ;;
    --bench) with_test=1; with_bench=1 ;;
    *) echo "setup.sh: unknown option $a" >&2; exit 2 ;;
  esac
done

SUDO=""
if [ "$(id -u)" != 0 ]; then SUDO="sudo"; fi

# Build dependencies of the mediasoup worker, and what Parley runs at start.
pkgs=(build-essential pkg-config python3 python3-pip ninja-build libssl-dev libuv1-dev libsrtp2-dev libusrsctp-dev
      libabsl-dev flatbuffers-compiler libflatbuffers-dev libopus-dev openssl espeak-ng sox
      ffmpeg fonts-dejavu-core ca-certificates)  # the livestream: ffmpeg encodes, DejaVu Sans draws the still's text, RTMPS checks ingests against the CA bundle
if [ "$with_test" = 1 ]; then
  pkgs+=(sip-tester baresip-core baresip-ffmpeg linphone-cli iproute2 procps util-linux chromium coturn sipvicious libxml2-utils tshark
        nginx libnginx-mod-rtmp)  # an RTMP ingest for the livestream tests
fi
if [ "$with_bench" = 1 ]; then
  pkgs+=(janus)
fi
missing=()
for p in "${pkgs[@]}"; do
  dpkg-query -W -f='${Status}' "$p" 2>/dev/null | grep -q 'install ok installed' || missing+=("$p")
done
if [ "${#missing[@]}" -gt 0 ]; then
  log "apt-get install ${missing[*]}"
  $SUDO apt-get update -qq
  DEBIAN_FRONTEND=noninteractive $SUDO apt-get install -y -qq --no-install-recommends "${missing[@]}" >/dev/null
fi

# Meson >= 1.1 (Debian 12 ships 1.0.1).
if ! python3 -c 'import mesonbuild.coredata as c, sys; v=tuple(int(x) for x in c.version.split(".")[:2]); sys.exit(0 if v>=(1,1) else 1)' 2>/dev/null; then
  log "pip install meson"
  python3 -m pip install --quiet meson 2>/dev/null || python3 -m pip install --quiet --break-system-packages meson
fi

# npm packages, when package-lock.json changed since the last install.
stamp="node_modules/.parley-lock-hash"
lock_hash="$(sha256sum package-lock.json | cut -c1-32)"
if [ ! -f "$stamp" ] || [ "$(cat "$stamp")" != "$lock_hash" ]; then
  log "npm ci"
  # --ignore-scripts: mediasoup's own postinstall would try the network; the worker is built below instead.
  npm ci --ignore-scripts --no-audit --no-fund --loglevel=error
  echo "$lock_hash" > "$stamp"
fi

# The mixer's Opus codec: our N-API binding over Debian's libopus (native/opus), built by node-gyp against
# Node's own headers (a few seconds). Rebuilt when its sources are newer than the addon.
addon="native/opus/build/Release/parley_opus.node"
if [ ! -f "$addon" ] || [ -n "$(find native/opus/src native/opus/binding.gyp -newer "$addon" 2>/dev/null)" ]; then
  log "building native/opus (libopus binding)"
  npm rebuild @parley/opus --loglevel=error >/dev/null
  [ -f "$addon" ] || { echo "setup.sh: native/opus did not build ($addon missing)" >&2; exit 1; }
fi

# SDES-SRTP for the media threads: our N-API binding over Debian's libsrtp2 (native/srtp), built the same way.
addon="native/srtp/build/Release/parley_srtp.node"
if [ ! -f "$addon" ] || [ -n "$(find native/srtp/src native/srtp/binding.gyp -newer "$addon" 2>/dev/null)" ]; then
  log "building native/srtp (libsrtp2 binding)"
  npm rebuild @parley/srtp --loglevel=error >/dev/null
  [ -f "$addon" ] || { echo "setup.sh: native/srtp did not build ($addon missing)" >&2; exit 1; }
fi

# The embedded database (storage: accounts, audit log, CDRs): better-sqlite3 compiled from its bundled SQLite
# sources by node-gyp against Node's own headers (about a minute on 2 cores); its prebuilt download is never tried.
addon="node_modules/better-sqlite3/build/Release/better_sqlite3.node"
if [ ! -f "$addon" ]; then
  log "building better-sqlite3 from source"
  npm_config_build_from_source=true npm rebuild better-sqlite3 --loglevel=error >/dev/null
  [ -f "$addon" ] || { echo "setup.sh: better-sqlite3 did not build ($addon missing)" >&2; exit 1; }
fi

bash scripts/build-mediasoup-worker.sh

if [ -f scripts/render-prompts.sh ]; then bash scripts/render-prompts.sh; fi

log "tsc"
npx tsc -p tsconfig.build.json
log "web pages (esbuild)"
node scripts/build-web.mjs
log "ready"
