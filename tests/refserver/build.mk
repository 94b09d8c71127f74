# tests/refserver: dsp-refserver, the reference LM server (a test fixture),
# its tests and its benchmark. See docs/refserver.md.

RS_SRCS := $(filter-out tests/refserver/main.c tests/refserver/test_%.c,$(wildcard tests/refserver/*.c))
RS_OBJS := $(RS_SRCS:%.c=$(BUILD)/obj/%.o)
RS_BIN  := $(BUILD)/dsp-refserver
RS_LIBS := $(MHD_LIBS) $(CJSON_LIBS) $(ZLIB_LIBS) -lpthread -lm

$(BUILD)/obj/tests/refserver/%.o: CPPFLAGS += $(CJSON_CFLAGS)

$(RS_BIN): $(RS_OBJS) $(BUILD)/obj/tests/refserver/main.o
	@mkdir -p $(dir $@)
	$(CC) $(LDFLAGS) -o $@ $^ $(RS_LIBS)

BINS += $(RS_BIN)

# Unit tests link the learner directly; the HTTP tests start the binary.
RS_TEST_BINS := $(BUILD)/tests/refserver/test_refserver_unit $(BUILD)/tests/refserver/test_refserver_http \
                $(BUILD)/tests/refserver/test_refserver_ft

$(BUILD)/tests/refserver/test_refserver_unit: $(BUILD)/obj/tests/refserver/test_refserver_unit.o $(RS_OBJS)
	@mkdir -p $(dir $@)
	$(CC) $(LDFLAGS) -o $@ $^ $(CMOCKA_LIBS) $(RS_LIBS)

$(BUILD)/tests/refserver/test_refserver_ft: $(BUILD)/obj/tests/refserver/test_refserver_ft.o $(RS_OBJS)
	@mkdir -p $(dir $@)
	$(CC) $(LDFLAGS) -o $@ $^ $(CMOCKA_LIBS) $(RS_LIBS)

# tests/support/refserver_proc.c starts and stops the fixture for every C
# test that talks to it (this one, the runtime's and the interpreter's).
RS_PROC_OBJ := $(BUILD)/obj/tests/support/refserver_proc.o

$(BUILD)/tests/refserver/test_refserver_http: $(BUILD)/obj/tests/refserver/test_refserver_http.o $(RS_PROC_OBJ) \
                                              $(RS_BIN)
	@mkdir -p $(dir $@)
	$(CC) $(LDFLAGS) -o $@ $(filter %.o,$^) $(CMOCKA_LIBS) $(CURL_LIBS) $(CJSON_LIBS) -lpthread -lm

$(BUILD)/obj/tests/refserver/test_refserver_http.o: CPPFLAGS += $(CURL_CFLAGS)

TEST_BINS    += $(RS_TEST_BINS)
TEST_SCRIPTS += tests/refserver/test_refserver_faults.sh

# `make bench-refserver`: requests/s of a small chat completion under wrk.
.PHONY: bench-refserver
bench-refserver: $(RS_BIN)
	BUILD=$(BUILD) sh tests/refserver/bench.sh
