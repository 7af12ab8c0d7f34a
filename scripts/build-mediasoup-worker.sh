#!/usr/bin/env bash
# Builds (or fetches) the mediasoup-worker binary without internet access.
#
#   1. A cached binary for this mediasoup version and this recipe is reused.
#   2. Otherwise mediasoup's own prebuilt release is tried (skipped with
#      PARLEY_WORKER_PREBUILT=never; it cannot work on an air-gapped host).
#   3. Otherwise the worker is built from the npm package's own sources
#      against Debian's libraries: every Meson subproject that would be
#      downloaded is replaced by a directory that wraps the system library.
#
# The result is copied to where mediasoup looks by default
# (node_modules/mediasoup/worker/out/Release/mediasoup-worker), so no
# environment variable is needed at run time.
#
# Env: PARLEY_CACHE_DIR (default ~/.cache/parley), PARLEY_WORKER_PREBUILT (try|never).
set -euo pipefail

# Everything runs inside main(), so bash has read the whole file before it starts (safe to edit while running).
main() {
here="$(cd "$(dirname "${BASH_SOURCE[0]}")" && pwd)"
root="$(cd "$here/.." && pwd)"
ms_dir="$root/node_modules/mediasoup"
[ -f "$ms_dir/package.json" ] || { echo "build-mediasoup-worker: run npm ci first ($ms_dir missing)" >&2; exit 1; }

ms_version="$(node -p "require('$ms_dir/package.json').version")"
recipe_hash="$(cat "$here/build-mediasoup-worker.sh" "$here"/mediasoup-offline/* | sha256sum | cut -c1-16)"
cache_dir="${PARLEY_CACHE_DIR:-$HOME/.cache/parley}/mediasoup-worker-$ms_version-$recipe_hash"
cached_bin="$cache_dir/mediasoup-worker"
target_dir="$ms_dir/worker/out/Release"
target_bin="$target_dir/mediasoup-worker"

log() { echo "[build-mediasoup-worker] $*"; }

install_bin() {
  mkdir -p "$target_dir"
  cp "$1" "$target_bin.tmp" && chmod +x "$target_bin.tmp" && mv "$target_bin.tmp" "$target_bin"
  log "worker installed at $target_bin"
}


if [ -x "$cached_bin" ]; then
  log "using cached worker $cached_bin"
  install_bin "$cached_bin"
  exit 0
fi

if [ "${PARLEY_WORKER_PREBUILT:-try}" != "never" ]; then
  log "trying mediasoup's prebuilt worker download"
  if (cd "$ms_dir" && timeout 60 node "$here/mediasoup-offline/fetch-prebuilt.mjs"); then
    if [ -x "$target_bin" ]; then
      mkdir -p "$cache_dir" && cp "$target_bin" "$cached_bin"
      log "prebuilt worker downloaded"
      exit 0
    fi
  fi
  log "prebuilt worker not available here; building from sources offline"
fi

for cmd in ninja flatc pkg-config c++; do
  command -v "$cmd" >/dev/null || { echo "build-mediasoup-worker: '$cmd' missing (run scripts/setup.sh)" >&2; exit 1; }
done
# Meson >= 1.1 is needed (Debian 12 has 1.0.1); scripts/setup.sh installs a newer one with pip.
meson_ok() { "$@" --version >/dev/null 2>&1 && python3 -c 'import sys; v=tuple(int(x) for x in sys.argv[1].split(".")[:2]); sys.exit(0 if v>=(1,1) else 1)' "$("$@" --version)"; }
if meson_ok python3 -m mesonbuild.mesonmain; then meson=(python3 -m mesonbuild.mesonmain)
elif meson_ok meson; then meson=(meson)
else echo "build-mediasoup-worker: meson >= 1.1 required (python3 -m pip install meson)" >&2; exit 1
fi

work="$(mktemp -d "${TMPDIR:-/tmp}/parley-worker-build.XXXXXX")"
trap 'rm -rf "$work"' EXIT
cp -r "$ms_dir/worker" "$work/worker"
src="$work/worker"
sub="$src/subprojects"
stubs="$here/mediasoup-offline"

# DTLS fix for system OpenSSL builds. mediasoup's BIO callback (DtlsTransport.cpp, onSslBioOut) answers 1 to the
# return phase of every BIO operation but a bare BIO_CB_RETURN, so BIO_ctrl() queries on its memory BIO all answer 1.
# Its own OpenSSL is built without kTLS; Debian's has kTLS, asks BIO_get_ktls_send() of the BIO, believes it, skips
# allocating the DTLS write buffer, and the worker dies (SIGSEGV) at the first handshake message. The return phase
# must give back what the operation returned.
dtls_cpp="$src/src/RTC/DtlsTransport.cpp"
grep -q '(operationType == BIO_CB_RETURN) ? static_cast<long>(ret) : 1' "$dtls_cpp" \
  || { echo "build-mediasoup-worker: DtlsTransport.cpp changed; review the BIO callback patch" >&2; exit 1; }
sed -i 's/(operationType == BIO_CB_RETURN) ? static_cast<long>(ret) : 1/((operationType \& BIO_CB_RETURN) != 0) ? static_cast<long>(ret) : 1/' "$dtls_cpp"

# RFC 4733 through consumers: mediasoup forwards only "media" codecs (Consumer.cpp fills supportedCodecPayloadTypes
# with IsMediaCodec() codecs), so a Producer's telephone-event packets never reach any Consumer although ortc puts
# the codec in the consumer's rtpParameters. Browsers' digits (WebRtcTransport) can only leave the worker that way.
consumer_cpp="$src/src/RTC/Consumer.cpp"
grep -q 'if (codec.mimeType.IsMediaCodec())$' "$consumer_cpp" \
  || { echo "build-mediasoup-worker: Consumer.cpp changed; review the telephone-event patch" >&2; exit 1; }
sed -i 's/if (codec.mimeType.IsMediaCodec())$/if (codec.mimeType.IsMediaCodec() || codec.mimeType.subtype == RTC::RtpCodecMimeType::Subtype::TELEPHONE_EVENT)/' "$consumer_cpp"
grep -q 'Subtype::TELEPHONE_EVENT)$' "$consumer_cpp" || { echo "build-mediasoup-worker: telephone-event patch not applied" >&2; exit 1; }

# One directory per .wrap, named by the wrap's `directory` key.
wrap_dir() { sed -n 's/^directory *= *//p' "$sub/$1.wrap"; }
stub() { # name -> directory with meson.build (+ meson_options.txt)
  local d="$sub/$(wrap_dir "$1")"
  mkdir -p "$d"
  cp "$stubs/$1.meson" "$d/meson.build"
  if [ -f "$stubs/$1.options" ]; then cp "$stubs/$1.options" "$d/meson_options.txt"; fi
  echo 'typedef int parley_subproject_stub; /* no symbols: the real library comes from the dependency */' > "$d/stub.c"
}
for w in openssl libuv libsrtp3 usrsctp abseil-cpp catch2 flatbuffers; do stub "$w"; done
cp "$stubs/srtp3-compat.h" "$sub/$(wrap_dir libsrtp3)/srtp3-compat.h"

build="$src/out/Release/build"
log "meson setup ($("${meson[@]}" --version))"
"${meson[@]}" setup "$build" "$src" --buildtype=release -Db_ndebug=true -Db_pie=true -Db_lto=false \
  -Dms_disable_liburing=true --wrap-mode=nodownload > "$work/setup.log" 2>&1 || { cat "$work/setup.log"; exit 1; }
log "compiling flatbuffers headers, then the worker (about 5 minutes on 2 cores)"
ninja -C "$build" fbs/FBS > "$work/fbs.log" 2>&1 || { tail -50 "$work/fbs.log"; exit 1; }
ninja -C "$build" -j "$(nproc)" mediasoup-worker > "$work/build.log" 2>&1 || { grep -m20 -B2 -A10 'error' "$work/build.log"; exit 1; }

mkdir -p "$cache_dir"
cp "$build/mediasoup-worker" "$cached_bin.tmp" && mv "$cached_bin.tmp" "$cached_bin"
log "worker cached at $cached_bin"
install_bin "$cached_bin"
}

main "$@"
