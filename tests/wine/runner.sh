#!/usr/bin/env bash
# Cargo's runner for x86_64-pc-windows-gnu test programs (CARGO_TARGET_X86_64_PC_WINDOWS_GNU_RUNNER):
# puts the test-only ProcessPrng shim beside the .exe (see processprng.c), then runs it with wine.
set -euo pipefail
here=$(cd "$(dirname "$0")" && pwd)
exe=$1
shift
dll="$(dirname "$exe")/bcryptprimitives.dll"
if [ ! -f "$dll" ] || [ "$here/processprng.c" -nt "$dll" ]; then
  x86_64-w64-mingw32-gcc -O2 -shared -o "$dll" "$here/processprng.c" "$here/processprng.def" -ladvapi32
fi
export WINEDEBUG=${WINEDEBUG:--all}
exec wine "$exe" "$@"
