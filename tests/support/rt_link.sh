# tests/support/rt_link.sh — sourced by shell tests that compile a program
# against $BUILD/libdsprt.a. Under `make check-asan` that library is
# instrumented, so the program must be built with the same sanitizers or
# it does not link. Sets RT_SAN (compiler flags) and RT_LIBS (link line).
RT_SAN=
if nm "$BUILD/libdsprt.a" 2>/dev/null | grep -q __asan; then RT_SAN="-fsanitize=address,undefined"; fi
RT_LIBS="-lcurl -lcjson -lsqlite3 -lhiredis -lcrypto -lz -lpthread -lm"
