#!/usr/bin/env bash
# Command 2: install what is missing (with the real SIP/media peers), build, lint, and run the whole test suite
# (unit, integration on the real mediasoup worker and sockets, e2e with SIPp/baresip). Extra arguments go to jest.
set -euo pipefail
cd "$(dirname "${BASH_SOURCE[0]}")/.."
bash scripts/setup.sh --test
echo "[test] lint"
npm run --silent lint
echo "[test] jest"
out="$(mktemp -d)/jest.json"
status=0
# In a network namespace with loopback only: browsers, SIP peers and media can reach nothing but 127.0.0.1/::1.
bash scripts/loopback-only.sh npx jest --ci --json --outputFile="$out" "$@" || status=$?
# A plain closing line that any CI reader understands.
node -e '
const r = require(process.argv[1]);
console.log(`tests: ${r.numPassedTests} passed, ${r.numFailedTests} failed`);
' "$out" || true
exit "$status"
