#!/bin/sh
# Rebuild the vendored CodeMirror bundle from pinned npm packages (package-lock.json).
# Usage: scripts/webui-codemirror/build.sh   (needs npm; the result is committed)
set -eu
here=$(cd "$(dirname "$0")" && pwd)
out="$here/../../api/webui/vendor/codemirror"
cd "$here"
npm ci --no-audit --no-fund
mkdir -p "$out"
npx esbuild entry.js --bundle --minify --format=iife --global-name=EcoCM \
  --legal-comments=eof --outfile="$out/codemirror.bundle.js"
# licences of everything in the bundle
: > "$out/LICENSE"
for d in node_modules/@codemirror/* node_modules/@lezer/* node_modules/crelt node_modules/style-mod node_modules/w3c-keyname node_modules/@marijn/*; do
  [ -d "$d" ] || continue
  v=$(node -p "require('./$d/package.json').version")
  l=$(node -p "require('./$d/package.json').license")
  printf '== %s %s (%s)\n' "${d#node_modules/}" "$v" "$l" >> "$out/LICENSE"
  cat "$d"/LICENSE* >> "$out/LICENSE" 2>/dev/null || true
  printf '\n' >> "$out/LICENSE"
done
sha256sum "$out/codemirror.bundle.js" | sed 's#  .*/#  #' > "$out/SHA256SUMS"
