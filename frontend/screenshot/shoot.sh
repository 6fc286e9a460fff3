#!/usr/bin/env bash
# Renders the real editors in headless Chromium (Debian `chromium`) and writes docs/img/editor-*.png.
# Usage: frontend/screenshot/shoot.sh   (after npm ci in frontend/)
set -euo pipefail
HERE="$(cd "$(dirname "${BASH_SOURCE[0]}")" && pwd)"
FRONTEND="$HERE/.."
IMG="$FRONTEND/../docs/img"
OUT="$(mktemp -d)"
trap 'rm -rf "$OUT"' EXIT
command -v chromium >/dev/null || { echo "shoot.sh: needs Debian's chromium (apt-get install chromium)" >&2; exit 1; }

cd "$FRONTEND"
SHOT_OUT="$OUT" npx webpack -c "$HERE/webpack.config.js"
cat > "$OUT/index.html" <<'HTML'
<!doctype html><html><head><meta charset="utf-8"><title>infermon editors</title></head>
<body style="margin:0"><div id="root"></div><script src="bundle.js"></script></body></html>
HTML
mkdir -p "$IMG"
shot() { # page width height
  chromium --headless=new --no-sandbox --disable-gpu --hide-scrollbars --force-device-scale-factor=1 \
    --virtual-time-budget=5000 --window-size="$2,$3" --screenshot="$IMG/editor-$1.png" "file://$OUT/index.html#$1" 2>/dev/null
  echo "wrote docs/img/editor-$1.png"
}
shot metric 1280 900
shot slo 1280 760
shot config 1000 1250
