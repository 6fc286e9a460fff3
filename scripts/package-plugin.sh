#!/usr/bin/env bash
# Builds the Grafana plugin package: the frontend (webpack) and the Rust backend (release), assembled as
# dist/infermon-inference-datasource/ plus a zip laid out as Grafana's plugin install expects (one top folder named
# after the plugin id), then checks the layout (frontend/scripts/check-package.mjs: files, plugin.json, binary
# executable and answering the go-plugin handshake).
#
# Usage: scripts/package-plugin.sh [--no-cargo] [--binary PATH] [--out DIR] [--no-frontend-build]
#   --no-cargo           do not run cargo; use --binary or an existing target/release/gpx_infermon
#   --binary PATH        the linux/amd64 (or host-arch) backend binary to ship (default target/release/gpx_infermon)
#   --out DIR            output directory (default dist/ at the repository root)
#   --no-frontend-build  reuse frontend/dist from an earlier `npm run build`
set -euo pipefail

ROOT="$(cd "$(dirname "${BASH_SOURCE[0]}")/.." && pwd)"
PLUGIN_ID="infermon-inference-datasource"
EXECUTABLE="gpx_infermon"
OUT="$ROOT/dist"
BINARY=""
RUN_CARGO=1
BUILD_FRONTEND=1

while [ $# -gt 0 ]; do
  case "$1" in
    --no-cargo) RUN_CARGO=0 ;;
    --binary) BINARY="$2"; shift ;;
    --out) OUT="$2"; shift ;;
    --no-frontend-build) BUILD_FRONTEND=0 ;;
    -h|--help) sed -n '2,14p' "$0"; exit 0 ;;
    *) echo "package-plugin: unknown argument $1 (see --help)" >&2; exit 2 ;;
  esac
  shift
done

log() { echo "package-plugin: $*"; }

# --- frontend ---------------------------------------------------------------------------------------------------
if [ "$BUILD_FRONTEND" = 1 ]; then
  cd "$ROOT/frontend"
  if [ ! -d node_modules ]; then
    log "installing frontend dependencies (npm ci)"
    npm ci --no-audit --no-fund --loglevel=error
  fi
  log "building the frontend"
  npm run --silent build >/dev/null
fi
[ -f "$ROOT/frontend/dist/module.js" ] || { echo "package-plugin: frontend/dist/module.js missing (build the frontend)" >&2; exit 1; }

# --- backend ----------------------------------------------------------------------------------------------------
case "$(uname -m)" in
  x86_64|amd64) HOST_ARCH=amd64 ;;
  aarch64|arm64) HOST_ARCH=arm64 ;;
  *) echo "package-plugin: unsupported host architecture $(uname -m)" >&2; exit 1 ;;
esac
if [ -z "$BINARY" ]; then
  BINARY="$ROOT/target/release/$EXECUTABLE"
  if [ "$RUN_CARGO" = 1 ]; then
    log "building the backend (cargo build -p infermon-plugin --release)"
    (cd "$ROOT" && cargo build -p infermon-plugin --release --locked)
  fi
fi
[ -x "$BINARY" ] || { echo "package-plugin: backend binary $BINARY missing or not executable" >&2; exit 1; }

# A second architecture needs its Rust target and a cross linker; say so instead of shipping a package that
# silently lacks it.
OTHER_ARCH=$([ "$HOST_ARCH" = amd64 ] && echo arm64 || echo amd64)
OTHER_TRIPLE=$([ "$OTHER_ARCH" = arm64 ] && echo aarch64-unknown-linux-gnu || echo x86_64-unknown-linux-gnu)
OTHER_LINKER=$([ "$OTHER_ARCH" = arm64 ] && echo aarch64-linux-gnu-gcc || echo x86_64-linux-gnu-gcc)
OTHER_BINARY=""
if [ "$RUN_CARGO" = 1 ] && rustup target list --installed 2>/dev/null | grep -qx "$OTHER_TRIPLE" && command -v "$OTHER_LINKER" >/dev/null; then
  log "building the backend for linux/$OTHER_ARCH ($OTHER_TRIPLE)"
  linker_var="CARGO_TARGET_$(echo "$OTHER_TRIPLE" | tr 'a-z-' 'A-Z_')_LINKER"
  (cd "$ROOT" && env "$linker_var=$OTHER_LINKER" cargo build -p infermon-plugin --release --locked --target "$OTHER_TRIPLE")
  OTHER_BINARY="$ROOT/target/$OTHER_TRIPLE/release/$EXECUTABLE"
else
  log "NOTE: no linux/$OTHER_ARCH binary: needs 'rustup target add $OTHER_TRIPLE' and the $OTHER_LINKER linker (Debian gcc-${OTHER_TRIPLE%%-*}-linux-gnu); the package is linux/$HOST_ARCH only"
fi

# --- assemble ---------------------------------------------------------------------------------------------------
PKG="$OUT/$PLUGIN_ID"
rm -rf "$PKG"
mkdir -p "$PKG"
cp -R "$ROOT/frontend/dist/." "$PKG/"
# Backend binaries of an earlier local build may sit in frontend/dist (webpack keeps *_amd64 / *_arm64): drop them.
rm -f "$PKG/${EXECUTABLE}"_*
install -m 0755 "$BINARY" "$PKG/${EXECUTABLE}_linux_${HOST_ARCH}"
if [ -n "$OTHER_BINARY" ]; then
  install -m 0755 "$OTHER_BINARY" "$PKG/${EXECUTABLE}_linux_${OTHER_ARCH}"
fi

VERSION="$(node -p "require('$PKG/plugin.json').info.version")"
ARCHES="$(cd "$PKG" && ls "${EXECUTABLE}"_linux_* | sed "s/${EXECUTABLE}_//" | tr '\n' '+' | sed 's/+$//')"
ZIP="$OUT/${PLUGIN_ID}-${VERSION}.${ARCHES}.zip"
rm -f "$ZIP" "$ZIP.sha256"
(cd "$OUT" && zip -qr -X "$(basename "$ZIP")" "$PLUGIN_ID")
(cd "$OUT" && sha256sum "$(basename "$ZIP")" > "$(basename "$ZIP").sha256")

log "checking the package"
node "$ROOT/frontend/scripts/check-package.mjs" "$PKG" "$ZIP"
log "done: $PKG and $ZIP"
