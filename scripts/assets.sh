#!/usr/bin/env bash
# Copies the front-end libraries of the maps (Leaflet, proj4, proj4leaflet; installed from
# npm by package.json) into kapula/vendor/, which Django serves as static/vendor/ and git
# ignores. Without them the forms still work: address and coordinates, no map.
set -euo pipefail
cd "$(dirname "$0")/.."
if [ ! -f node_modules/leaflet/dist/leaflet.js ] || [ ! -f node_modules/proj4leaflet/src/proj4leaflet.js ]; then
  if command -v npm >/dev/null; then
    npm ci --silent --no-audit --no-fund >/dev/null
  else
    echo "npm is missing: no map (install npm and run 'make assets' to have one)." >&2
    exit 0
  fi
fi
dest=kapula/vendor
rm -rf "$dest.tmp"
mkdir -p "$dest.tmp/leaflet/images" "$dest.tmp/proj4"
cp node_modules/leaflet/dist/leaflet.js node_modules/leaflet/dist/leaflet.css "$dest.tmp/leaflet/"
cp node_modules/leaflet/dist/images/*.png "$dest.tmp/leaflet/images/"
cp node_modules/leaflet/LICENSE "$dest.tmp/leaflet/LICENSE"
cp node_modules/proj4/dist/proj4.js "$dest.tmp/proj4/"
cp node_modules/proj4/LICENSE.md "$dest.tmp/proj4/LICENSE.md" 2>/dev/null || true
cp node_modules/proj4leaflet/src/proj4leaflet.js "$dest.tmp/proj4/"
cp node_modules/proj4leaflet/LICENSE "$dest.tmp/proj4/LICENSE-proj4leaflet" 2>/dev/null || true
rm -rf "$dest"
mv "$dest.tmp" "$dest"
