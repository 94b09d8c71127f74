#!/bin/sh
# have_libfuzzer.sh CC: succeeds when CC links a libFuzzer program with
# ASan+UBSan (clang with its runtime: Debian's libclang-rt-14-dev).
cc=${1:-clang}
command -v "$cc" >/dev/null 2>&1 || exit 1
d=$(mktemp -d) || exit 1
trap 'rm -rf "$d"' EXIT
printf '#include <stdint.h>\n#include <stddef.h>\nint LLVMFuzzerTestOneInput(const uint8_t *d, size_t n) { (void)d; (void)n; return 0; }\n' >"$d/t.c"
"$cc" -fsanitize=fuzzer,address,undefined -o "$d/t" "$d/t.c" >/dev/null 2>&1
