# runtime/: libdsprt, static and shared. Every runtime/src/*.c is part of
# the library; every tests/runtime/test_*.c is a cmocka program linked
# against the static library.

RT_SRCS    := $(wildcard runtime/src/*.c)
RT_OBJS    := $(RT_SRCS:%.c=$(BUILD)/obj/%.o)
RT_PIC_OBJS:= $(RT_SRCS:%.c=$(BUILD)/pic/%.o)
RT_LIB     := $(BUILD)/libdsprt.a
RT_SHLIB   := $(BUILD)/libdsprt.so
RT_DEPLIBS := $(CURL_LIBS) $(CJSON_LIBS) $(SQLITE_LIBS) $(HIREDIS_LIBS) $(CRYPTO_LIBS) $(ZLIB_LIBS) -lpthread -lm
RT_CPPFLAGS:= -Iruntime/include $(CURL_CFLAGS) $(CJSON_CFLAGS)

$(RT_OBJS) $(RT_PIC_OBJS): CPPFLAGS += $(RT_CPPFLAGS)

$(BUILD)/pic/%.o: %.c
	@mkdir -p $(dir $@)
	$(CC) $(CFLAGS) $(CPPFLAGS) -fPIC -c $< -o $@

$(RT_LIB): $(RT_OBJS)
	@mkdir -p $(dir $@)
	rm -f $@
	$(AR) rcs $@ $^

$(RT_SHLIB): $(RT_PIC_OBJS)
	$(CC) -shared -Wl,-soname,libdsprt.so.0 $(LDFLAGS) -o $@ $^ $(RT_DEPLIBS)

BINS += $(RT_LIB) $(RT_SHLIB)

# The top-level Makefile includes the dependency files under $(BUILD)/obj
# only; without these, a changed internal header would leave the shared
# library built from stale objects.
-include $(wildcard $(RT_PIC_OBJS:.o=.d))

RT_TEST_SRCS := $(wildcard tests/runtime/test_*.c)
RT_TEST_BINS := $(RT_TEST_SRCS:tests/runtime/%.c=$(BUILD)/tests/runtime/%)
TEST_BINS += $(RT_TEST_BINS)

$(RT_TEST_SRCS:%.c=$(BUILD)/obj/%.o): CPPFLAGS += $(RT_CPPFLAGS)

$(BUILD)/tests/runtime/%: $(BUILD)/obj/tests/runtime/%.o $(RT_LIB)
	@mkdir -p $(dir $@)
	$(CC) $(LDFLAGS) -o $@ $< $(RT_LIB) $(CMOCKA_LIBS) $(RT_DEPLIBS)

# The JSON writer's tests again with its portable string scan (the one
# CPUs without SSE2 use): both objects built with -DDSP_JW_PORTABLE under
# $(BUILD)/obj/portable, linked ahead of the library so its json_write.o
# is not used.
RT_PORTABLE_OBJS := $(BUILD)/obj/portable/tests/runtime/test_json_write.o \
                    $(BUILD)/obj/portable/runtime/src/json_write.o
$(RT_PORTABLE_OBJS): CPPFLAGS += $(RT_CPPFLAGS) -DDSP_JW_PORTABLE
$(BUILD)/obj/portable/%.o: %.c
	@mkdir -p $(dir $@)
	$(CC) $(CFLAGS) $(CPPFLAGS) -c $< -o $@
$(BUILD)/tests/runtime/test_json_write_portable: $(RT_PORTABLE_OBJS) $(RT_LIB)
	@mkdir -p $(dir $@)
	$(CC) $(LDFLAGS) -o $@ $(RT_PORTABLE_OBJS) $(RT_LIB) $(CMOCKA_LIBS) $(RT_DEPLIBS)
TEST_BINS += $(BUILD)/tests/runtime/test_json_write_portable

# The client's end-to-end test runs its own fault-injecting stub server.
# tests/support/stub_http.c: the daemon and request bodies of their stubs.
RT_STUB_TESTS := $(BUILD)/tests/runtime/test_client_e2e $(BUILD)/tests/runtime/test_predict $(BUILD)/tests/runtime/test_react \
                 $(BUILD)/tests/runtime/test_react_native \
                 $(BUILD)/tests/runtime/test_sample $(BUILD)/tests/runtime/test_reply_notes \
                 $(BUILD)/tests/runtime/test_finetune $(BUILD)/tests/runtime/test_http_budget \
                 $(BUILD)/tests/runtime/test_sigv4
$(RT_STUB_TESTS): $(BUILD)/obj/tests/support/stub_http.o
$(RT_STUB_TESTS): RT_DEPLIBS += $(BUILD)/obj/tests/support/stub_http.o $(MHD_LIBS)
# The loops over LM calls (react, sampling) answer from a scripted stub.
RT_SCRIPT_TESTS := $(BUILD)/tests/runtime/test_react $(BUILD)/tests/runtime/test_react_native $(BUILD)/tests/runtime/test_sample \
                   $(BUILD)/tests/runtime/test_reply_notes
$(RT_SCRIPT_TESTS): $(BUILD)/obj/tests/support/stub_script.o
$(RT_SCRIPT_TESTS): RT_DEPLIBS += $(BUILD)/obj/tests/support/stub_script.o
$(BUILD)/obj/tests/support/stub_script.o: CPPFLAGS += $(RT_CPPFLAGS)
# The tests against dsp-refserver start it with tests/support/refserver_proc.c.
RT_RS_TESTS := $(BUILD)/tests/runtime/test_client_refserver $(BUILD)/tests/runtime/test_predict_refserver \
               $(BUILD)/tests/runtime/test_ratelimit_refserver \
               $(BUILD)/tests/runtime/test_stream_refserver $(BUILD)/tests/runtime/test_trace_providers \
               $(BUILD)/tests/runtime/test_finetune_refserver $(BUILD)/tests/runtime/test_embed_refserver \
               $(BUILD)/tests/runtime/test_cache_remote_loop
$(RT_RS_TESTS): $(BUILD)/obj/tests/support/refserver_proc.o
$(RT_RS_TESTS): RT_DEPLIBS += $(BUILD)/obj/tests/support/refserver_proc.o

# make bench-runtime: client overhead vs plain libcurl, throughput in flight.
RT_BENCH := $(BUILD)/bench/bench_client
$(BUILD)/obj/tests/bench/bench_client.o: CPPFLAGS += $(RT_CPPFLAGS)
$(RT_BENCH): $(BUILD)/obj/tests/bench/bench_client.o $(RT_LIB)
	@mkdir -p $(dir $@)
	$(CC) $(LDFLAGS) -o $@ $< $(RT_LIB) $(RT_DEPLIBS) $(MHD_LIBS)

# make bench-inflight: the event loop at 1,024 and 4,096 requests in flight
# against a plain curl_multi loop, and a cold start against curl(1).
BENCH_HELPERS := $(BUILD)/bench/bench_raw_multi $(BUILD)/bench/bench_spawn
$(BUILD)/bench/bench_raw_multi: $(BUILD)/obj/tests/bench/bench_raw_multi.o
	@mkdir -p $(dir $@)
	$(CC) $(LDFLAGS) -o $@ $< $(CURL_LIBS) $(CJSON_LIBS) -lm
$(BUILD)/obj/tests/bench/bench_raw_multi.o: CPPFLAGS += $(CURL_CFLAGS) $(CJSON_CFLAGS)
$(BUILD)/bench/bench_spawn: $(BUILD)/obj/tests/bench/bench_spawn.o
	@mkdir -p $(dir $@)
	$(CC) $(LDFLAGS) -o $@ $<
BINS += $(BENCH_HELPERS)

.PHONY: bench-inflight
bench-inflight: $(BENCH_HELPERS) $(RT_LIB) $(BUILD)/dspcc $(BUILD)/dsp-refserver
	BUILD=$(BUILD) sh tests/bench/bench_inflight.sh
# make test runs it tiny (16 in flight, 3 cold starts): the bench keeps building and running.
TEST_SCRIPTS += tests/bench/bench_inflight_smoke.sh

.PHONY: bench-runtime
bench-runtime: $(RT_BENCH) $(if $(wildcard tests/refserver/main.c),$(BUILD)/dsp-refserver)
	BUILD=$(BUILD) sh tests/bench/bench_runtime.sh
# make test runs it tiny (100 calls, no callgrind): the bench keeps building and running.
BINS += $(RT_BENCH)
TEST_SCRIPTS += tests/bench/bench_runtime_smoke.sh

# Only replies that parsed are cached, through eval and a generated program.
TEST_SCRIPTS += tests/runtime/cache_heal.sh
# The shared cache (DSPCC_CACHE_URL, Redis) against a redis-server it starts, in eval and a generated program.
TEST_SCRIPTS += tests/runtime/redis_cache.sh
# No piece of the API key in any output, against a fixture that echoes it.
TEST_SCRIPTS += tests/runtime/key_leak.sh
# Text keeps its exact bytes or is refused (UTF-8, no NULs), in eval and generated programs.
TEST_SCRIPTS += tests/runtime/exact_text.sh
# A generated program's threads sharing one client under ThreadSanitizer (make tsan runs more).
TEST_SCRIPTS += tests/runtime/tsan_threads.sh
# The same program under valgrind's memcheck (fiber stacks registered, errors redacted without reading unwritten bytes).
TEST_SCRIPTS += tests/runtime/valgrind_threads.sh
