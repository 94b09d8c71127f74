# dspcc — top-level build. Non-recursive: each component adds its rules in
# its own build.mk, included below, so `make -j` sees the whole graph.
#
#   make              build the compiler, runtime and fixtures into build/
#   make test         unit and end-to-end tests, then again under ASan+UBSan
#   make check-asan   the tests under AddressSanitizer + UndefinedBehaviorSanitizer
#   make bench        benchmarks that print figures and ratios
#   make fuzz         the libFuzzer harnesses of tests/fuzz, FUZZ_SECONDS (60) s each
#   make install PREFIX=/usr/local
#   make clean

.DEFAULT_GOAL := all
include mk/common.mk
-include mk/version.mk

VERSION ?= 0.1.0
PREFIX  ?= /usr/local
DESTDIR ?=

include grammar/build.mk
include grammar/cheader.mk
include compiler/build.mk
include runtime/build.mk
include tests/refserver/build.mk
include tests/build.mk
include tests/fuzz/build.mk
include tests/editors/build.mk
include tests/wire_clients/build.mk
include compiler/codegen.mk
include examples/multihop/build.mk
include examples/agent/build.mk
include mk/install.mk

.PHONY: all test test-plain check-asan tsan bench demo clean
all: $(BINS)

test-plain: all $(TEST_BINS)
	BUILD=$(BUILD) sh tests/run-tests.sh $(TEST_BINS) $(TEST_SCRIPTS)

# The default test target runs everything twice: plain, then sanitized.
test: test-plain
	$(MAKE) --no-print-directory check-asan

check-asan:
	$(MAKE) --no-print-directory BUILD=build/asan SANITIZE=1 OPT="-O1 -g" test-plain

# ThreadSanitizer over the runtime's threaded tests, built in build/tsan
# with -fsanitize=thread and run against the plain build's fixture (a few
# minutes; `make test` runs only tests/runtime/tsan_threads.sh, a generated
# program's threads under TSan). A data race fails the test that met it.
TSAN_TESTS := test_loop test_client_e2e test_client_refserver test_predict test_predict_refserver \
              test_stream_refserver test_cache test_cache_pool test_batch test_react
tsan: all
	$(MAKE) --no-print-directory BUILD=build/tsan SANITIZE=thread OPT="-O1 -g" \
	    $(TSAN_TESTS:%=build/tsan/tests/runtime/%)
	BUILD=$(BUILD) sh tests/run-tests.sh $(TSAN_TESTS:%=build/tsan/tests/runtime/%)

# The main job: checks every example, then runs the ticket classifier end
# to end (optimize, eval, generated C, ticket_cli) against the local
# reference server, a test fixture (examples/tickets/demo.sh).
demo: all
	@for f in $(wildcard examples/*/*.dsp); do \
	    echo "dspcc check $$f"; $(BUILD)/dspcc check $$f || exit 1; done
	@BUILD=$(BUILD) sh examples/tickets/demo.sh

# Figures and ratios, not pass/fail timing: the fixture's throughput, then
# the runtime's per-call overhead against plain libcurl, code generation
# against checking on a large generated program, mipro at -j 64 against
# its concurrency bound, gepa against mipro, every optimizer on every
# example against the program as written on held-out rows, and thousands
# of requests in flight and a cold start against plain libcurl and
# curl(1). One after another, also under
# -j: benches that share the two cores would skew each other's wall times.
bench:
	$(MAKE) --no-print-directory bench-refserver
	$(MAKE) --no-print-directory bench-runtime
	$(MAKE) --no-print-directory bench-codegen
	$(MAKE) --no-print-directory bench-mipro
	$(MAKE) --no-print-directory bench-gepa
	$(MAKE) --no-print-directory bench-optimizers
	$(MAKE) --no-print-directory bench-inflight

clean:
	rm -rf build

-include $(shell find $(BUILD)/obj -name '*.d' 2>/dev/null)
