#!/usr/bin/env bash
# The README's screenshots, taken from the real studio in a real sixel xterm on a virtual screen
# (../shared/tools/xterm-shot.sh beside the checkout; needs xterm xvfb imagemagick xdotool:
# `make screenshot-deps`). Fresh data and config folders, so the gallery holds the samples; the
# keys choose star-red-striped-blue as the object (the sample prompt becomes "a <obj> on the
# beach") and generate two seeds.
set -euo pipefail
cd "$(dirname "$0")/.."
shot=../shared/tools/xterm-shot.sh
[ -x "$shot" ] || { echo "screenshots: $shot not found (it sits in the shared folder beside the checkout)" >&2; exit 1; }
bin=.build/release/likeness
[ -x "$bin" ] || { echo "screenshots: build first (make release)" >&2; exit 1; }
mkdir -p docs/screenshots
for mode in sixel halfblock; do
  tmp=$(mktemp -d)
  COLS=140 ROWS=42 "$shot" "docs/screenshots/studio-$mode.png" 8 \
    "cd $PWD && TERM=xterm-256color XDG_DATA_HOME=$tmp/data XDG_CONFIG_HOME=$tmp/config $bin studio --preview $mode" \
    key --delay 120 shift+Tab Down Down Down Down Down Down Down Down Down Down Return ctrl+g sleep 8
  rm -rf "$tmp"
done
