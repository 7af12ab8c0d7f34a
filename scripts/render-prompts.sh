#!/usr/bin/env bash
# Renders Parley's spoken prompts with espeak-ng at build time into 16-bit mono PCM at 8, 16 and 48 kHz
# (dist/prompts/<name>.<rate>.pcm, plus a .wav for listening). The mixer plays them per participant and encodes
# them with that participant's codec. Skipped when the texts did not change.
set -euo pipefail
cd "$(dirname "${BASH_SOURCE[0]}")/.."
out=dist/prompts
declare -A PROMPTS=(
  [enter-pin]="Please enter the conference PIN, followed by the pound key."
  [wrong-pin]="That PIN is not correct."
  [only-participant]="You are the only participant in this conference."
  [muted]="You are muted."
  [unmuted]="You are no longer muted."
  [goodbye]="Goodbye."
  [lobby-wait]="Please wait, the host will let you in."
  [webinar-wait-host]="The webinar will start when the host joins."
  [lobby-admitted]="You are now in the conference."
  [lobby-denied]="The host declined your request to join."
  [listen-only]="You are in listen only mode. Press star one to raise your hand."
  [hand-raised]="Your hand is raised."
  [hand-lowered]="Your hand is lowered."
)
stamp_val="$( (declare -p PROMPTS; espeak-ng --version) | sha256sum | cut -c1-16)"
if [ -f "$out/.stamp" ] && [ "$(cat "$out/.stamp")" = "$stamp_val" ]; then exit 0; fi
mkdir -p "$out"
for name in "${!PROMPTS[@]}"; do
  espeak-ng -v en-us -s 150 -w "$out/$name.wav" "${PROMPTS[$name]}"
  for rate in 8000 16000 48000; do
    sox "$out/$name.wav" -r "$rate" -c 1 -b 16 -e signed-integer -t raw "$out/$name.$rate.pcm" norm -3
  done
done
echo "$stamp_val" > "$out/.stamp"
echo "[render-prompts] ${#PROMPTS[@]} prompts in $out"
