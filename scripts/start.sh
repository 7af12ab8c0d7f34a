#!/usr/bin/env bash
# Command 1: install what is missing, build, and start Parley with its embedded defaults
# (SIP on 127.0.0.1:5060 UDP/TCP, 5061 TLS, 8088 WS; HTTP on 127.0.0.1:8080). Extra arguments go to the server.
set -euo pipefail
cd "$(dirname "${BASH_SOURCE[0]}")/.."
bash scripts/setup.sh
exec node dist/src/index.js "$@"
