#!/bin/sh
# web.sh - prepares the web UI that `healer serve` sends: web/src/ and the
# pinned vendor files from web/node_modules/ (installed by `make deps` with
# `npm ci` from web/package-lock.json) are copied to web/dist/, and every
# text asset gets a gzip twin (foo.js.gz) that the server sends to clients
# accepting gzip. No bundler, no transpiler: the browser loads the ES
# modules as they are written. Re-run by make whenever a source changes.
set -e
cd "$(dirname "$0")/.."
NM=web/node_modules
for f in bootstrap/dist/css/bootstrap.min.css bootstrap/dist/js/bootstrap.bundle.min.js \
         echarts/dist/echarts.min.js; do
    if [ ! -f "$NM/$f" ]; then
        echo "web: $NM/$f is missing; run 'make deps' (npm ci in web/)" >&2
        exit 1
    fi
done
rm -rf web/dist.tmp
mkdir -p web/dist.tmp/vendor/bootstrap web/dist.tmp/vendor/echarts
cp -R web/src/. web/dist.tmp/
cp "$NM/bootstrap/dist/css/bootstrap.min.css" "$NM/bootstrap/dist/js/bootstrap.bundle.min.js" \
   web/dist.tmp/vendor/bootstrap/
cp "$NM/echarts/dist/echarts.min.js" web/dist.tmp/vendor/echarts/
cp "$NM/bootstrap/LICENSE" web/dist.tmp/vendor/bootstrap/LICENSE.txt
cp "$NM/echarts/LICENSE" web/dist.tmp/vendor/echarts/LICENSE.txt
find web/dist.tmp -type f \( -name '*.html' -o -name '*.js' -o -name '*.css' \
     -o -name '*.json' -o -name '*.svg' -o -name '*.txt' \) -exec gzip -9 -k -n {} \;
rm -rf web/dist
mv web/dist.tmp web/dist
touch web/dist/.stamp
