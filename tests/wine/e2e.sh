#!/usr/bin/env bash
# End to end on Windows, under wine: build a Windows installer with the dist bundler, then
# `info`, `verify` and `extract` it; install a plan with a disk-free check, a package whose
# web.config and UTF-16 (CRLF) file are substituted, and `cmd` steps; a failing run rolls back
# to an empty target; a passing run leaves the substituted files in their encoding. Then the
# installer is signed with Authenticode (osslsigncode, a throwaway self-signed certificate): the
# host's `dropship verify` accepts it and refuses it with one byte flipped, and under wine the
# signed file verifies itself and installs.
# Needs `cargo run --release -p xtask -- dist` first, wine, python3, openssl, osslsigncode, and the
# mingw compiler for the test-only ProcessPrng shim (see processprng.c).
# Usage: tests/wine/e2e.sh [DIST]
set -euo pipefail
here=$(cd "$(dirname "$0")" && pwd)
dist=$(cd "${1:-$here/../../dist}" && pwd)
work=$(mktemp -d)
trap 'wineserver -k >/dev/null 2>&1 || true; rm -rf "$work"' EXIT
export WINEPREFIX="$work/prefix" WINEDEBUG=-all WINEDLLOVERRIDES="mscoree,mshtml="
winpath() { printf 'Z:%s' "${1//\//\\}"; }
fail() { echo "wine e2e: FAILED: $*" >&2; exit 1; }

wineboot -i >/dev/null 2>&1
x86_64-w64-mingw32-gcc -O2 -shared -o "$work/bcryptprimitives.dll" \
  "$here/processprng.c" "$here/processprng.def" -ladvapi32

mkdir -p "$work/drop/Packages" "$work/pkg/conf"
cat > "$work/pkg/web.config" <<'XML'
<?xml version="1.0" encoding="utf-8"?>
<configuration><appSettings><add key="Port" value="#{Service.Port}" /></appSettings></configuration>
XML
python3 - "$work/pkg/conf/settings.txt" <<'PY'
import sys
open(sys.argv[1], "wb").write("port=#{Service.Port}\r\nhost=#{Service.Host}\r\n".encode("utf-16"))
PY
(cd "$work/pkg" && python3 -c 'import zipfile,sys; z=zipfile.ZipFile(sys.argv[1],"w"); [z.write(p) for p in sys.argv[2:]]' \
  "$work/drop/Packages/Site.1.0.0.zip" web.config conf/settings.txt)
cat > "$work/plan.json" <<'JSON'
{
  "schema": "dropship/plan@1",
  "product": { "name": "Wine Test", "version": "1.0.0", "vendor": "dropship" },
  "parameters": [
    { "name": "Install.Root", "type": "path" },
    { "name": "Service.Port", "type": "port", "default": "8443" },
    { "name": "Fail", "type": "bool", "default": "false" }
  ],
  "variables": { "Service.Host": "héllo.example" },
  "steps": [
    { "name": "Preflight", "type": "check",
      "checks": [ { "disk-free": { "path": "#{Install.Root}", "min-mb": 1 } } ] },
    { "name": "Deploy Site", "type": "deploy-package", "package": "Packages/Site.1.0.0.zip",
      "destination": "#{Install.Root}\\site", "substitute": ["web.config", "conf/settings.txt"] },
    { "name": "Batch", "type": "run-script", "syntax": "cmd",
      "inline": "echo cmd sees port %Service.Port%> \"%Install.Root%\\site\\cmd.txt\"\r\nif /i \"%Fail%\"==\"true\" exit /b 3\r\n" }
  ]
}
JSON
"$dist/dropship" keygen --unencrypted -o "$work/keys" >/dev/null
"$dist/dropship" build --platform windows-x86_64 --drop "$work/drop" --plan "$work/plan.json" \
  --key "$work/keys/dropship.key" -o "$work/installer.exe" >/dev/null
exe="$work/installer.exe"
installer() { wine "$exe" "$@"; }
key=$(winpath "$work/keys/dropship.pub")

installer info | grep -q "Wine Test" || fail "info"
installer verify --trusted-key-file "$key" >/dev/null || fail "verify"
installer extract --to "$(winpath "$work/extracted")" --trusted-key-file "$key" >/dev/null || fail "extract"
cmp "$work/plan.json" "$work/extracted/plan.json" || fail "extract: plan.json differs"

target="$work/target"
mkdir -p "$target"
run_install() {
  installer install --unattended --no-progress --trusted-key-file "$key" \
    --state-dir "$(winpath "$work/state-$1")" --set "Install.Root=$(winpath "$target")" --set "Fail=$2"
}
set +e
run_install failing true >"$work/failing.log" 2>&1
code=$?
set -e
[ "$code" = 5 ] || { cat "$work/failing.log"; fail "a failing cmd step should exit 5, got $code"; }
[ -z "$(ls -A "$target")" ] || { ls -R "$target"; fail "rollback left files behind"; }

run_install passing false >"$work/passing.log" 2>&1 || { cat "$work/passing.log"; fail "install"; }
grep -q 'value="8443"' "$target/site/web.config" || fail "web.config not substituted"
expected=$(python3 -c 'import sys; sys.stdout.buffer.write("port=8443\r\nhost=héllo.example\r\n".encode("utf-16"))' | od -An -tx1)
[ "$(od -An -tx1 "$target/site/conf/settings.txt")" = "$expected" ] || fail "UTF-16 file not substituted in its encoding"
grep -q "cmd sees port 8443" "$target/site/cmd.txt" || fail "cmd step"

# Authenticode: sign the finished installer as a vendor would.
openssl req -x509 -newkey rsa:2048 -nodes -days 2 -subj "/CN=dropship wine test" \
  -keyout "$work/cert.key" -out "$work/cert.pem" 2>/dev/null
osslsigncode sign -certs "$work/cert.pem" -key "$work/cert.key" \
  -in "$work/installer.exe" -out "$work/signed.exe" >/dev/null || fail "osslsigncode sign"
osslsigncode verify -CAfile "$work/cert.pem" -in "$work/signed.exe" >/dev/null || fail "osslsigncode verify"
"$dist/dropship" verify "$work/signed.exe" --key "$work/keys/dropship.pub" | grep -q "Authenticode certificate table" \
  || fail "dropship verify of the Authenticode-signed installer"
cp "$work/signed.exe" "$work/flipped.exe"
size=$(stat -c %s "$work/installer.exe")
printf '\xff' | dd of="$work/flipped.exe" bs=1 seek=$((size / 2)) conv=notrunc status=none
set +e
"$dist/dropship" verify "$work/flipped.exe" --key "$work/keys/dropship.pub" >"$work/flipped.log" 2>&1
code=$?
set -e
[ "$code" = 3 ] || { cat "$work/flipped.log"; fail "a flipped byte in the signed installer should exit 3, got $code"; }
exe="$work/signed.exe"
installer verify --trusted-key-file "$key" >/dev/null || fail "verify of the signed installer under wine"
rm -rf "$target"; mkdir -p "$target"
run_install signed false >"$work/signed.log" 2>&1 || { cat "$work/signed.log"; fail "install with the signed installer"; }
grep -q "cmd sees port 8443" "$target/site/cmd.txt" || fail "cmd step (signed installer)"

sed "s/^/  /" "$work/failing.log" "$work/passing.log"
echo "wine e2e: passed (info, verify, extract, check, package with web.config and UTF-16 CRLF substitution, cmd steps, rollback; Authenticode-signed: host verify, flipped byte refused, verify and install under wine)"
