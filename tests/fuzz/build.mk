# tests/fuzz — libFuzzer harnesses for the untrusted inputs: the front end
# (fuzz_frontend.c), LM server replies and streams (fuzz_replies.c), AWS
# event streams and Bedrock's ConverseStream (fuzz_eventstream.c), batch
# result files (fuzz_batch.c), a shared Redis cache's replies
# (fuzz_redis.c), embeddings replies (fuzz_embed.c), native tool-call
# arguments and C structs (fuzz_tools.c), C headers (fuzz_cheader.c) and
# data files (fuzz_data.c), each with a seed corpus in
# tests/fuzz/corpus/NAME.
#
#   make fuzz                  each harness for FUZZ_SECONDS (default 60) s
#   make fuzz FUZZ_SECONDS=600
#   make fuzz-build            the harnesses only, in build/fuzz
#
# They need clang with libFuzzer (Debian: clang, libclang-rt-14-dev, in
# scripts/setup.sh). The libraries are built again in build/fuzz with clang,
# ASan+UBSan and libFuzzer's coverage (-fsanitize=fuzzer-no-link); only the
# harnesses link libFuzzer's main. New inputs libFuzzer finds go to
# build/fuzz/corpus/NAME, never into the committed seeds; a crash leaves
# its input in build/fuzz/crash-* (replay: build/fuzz/tests/fuzz/NAME FILE).
# `make test` replays the seeds and fuzzes each briefly
# (tests/fuzz/fuzz_smoke.sh).

FUZZ_NAMES   := fuzz_frontend fuzz_replies fuzz_data fuzz_eventstream fuzz_batch fuzz_embed fuzz_redis fuzz_cheader fuzz_tools
FUZZ_SECONDS ?= 60
FUZZ_BUILD   := build/fuzz
FUZZ_CC      ?= clang

# Inside the fuzz tree (BUILD=$(FUZZ_BUILD)).
FUZZ_BINS := $(FUZZ_NAMES:%=$(BUILD)/tests/fuzz/%)
$(FUZZ_NAMES:%=$(BUILD)/obj/tests/fuzz/%.o): CPPFLAGS += $(DSPCC_CPPFLAGS) $(RT_CPPFLAGS)
$(FUZZ_NAMES:%=$(BUILD)/obj/tests/fuzz/%.o): | $(GRAM_HEADERS)
$(BUILD)/tests/fuzz/%: $(BUILD)/obj/tests/fuzz/%.o $(CC_LIB) $(BUILD)/libdsprt.a $(CHEADER_LIB)
	@mkdir -p $(dir $@)
	$(CC) $(LDFLAGS) -fsanitize=fuzzer -o $@ $< $(CC_LIB) $(DSPCC_LIBS)

.PHONY: fuzz fuzz-build fuzz-bins
fuzz-bins: $(FUZZ_BINS)

fuzz-build:
	@sh tests/fuzz/have_libfuzzer.sh $(FUZZ_CC) || { \
	    echo "make fuzz: $(FUZZ_CC) cannot link -fsanitize=fuzzer (install clang and libclang-rt-14-dev: scripts/setup.sh)"; \
	    exit 1; }
	$(MAKE) --no-print-directory BUILD=$(FUZZ_BUILD) CC=$(FUZZ_CC) SANITIZE=1 \
	    OPT="-O1 -g -fsanitize=fuzzer-no-link" fuzz-bins

fuzz: fuzz-build
	@for t in $(FUZZ_NAMES); do \
	    mkdir -p $(FUZZ_BUILD)/corpus/$$t; \
	    echo "make fuzz: $$t for $(FUZZ_SECONDS) s"; \
	    $(FUZZ_BUILD)/tests/fuzz/$$t -max_total_time=$(FUZZ_SECONDS) -timeout=10 -rss_limit_mb=2048 \
	        -artifact_prefix=$(FUZZ_BUILD)/ -print_final_stats=1 \
	        $(FUZZ_BUILD)/corpus/$$t tests/fuzz/corpus/$$t || exit 1; \
	done

# A short run in make test: replays the seeds and fuzzes each harness for a
# few seconds; skips, saying why, without clang's libFuzzer.
TEST_SCRIPTS += tests/fuzz/fuzz_smoke.sh
