# grammar/cheader.mk — the C header reader (cheader: C prototypes -> .dsp
# types), the tree-sitter C grammar it runs on, and the generated-code shape
# checker build/dsp-cshape with its tests.
#
# The grammar's generated parser.c comes from the npm package tree-sitter-c
# (scripts/setup.d/tree-sitter-c.sh unpacks it into third_party/, which is
# gitignored) and is compiled into the build tree with the project's flags.
#
# For a program that reads headers (dspcc), link $(CHEADER_LIB) $(TS_LIBS)
# and add -Igrammar to its CPPFLAGS; the API is grammar/cheader.h.

TSC_DIR     := third_party/tree-sitter-c
TSC_PARSER  := $(TSC_DIR)/src/parser.c
TSC_OBJ     := $(BUILD)/obj/$(TSC_PARSER:.c=.o)

CHEADER_SRCS := grammar/csource.c grammar/ctype_map.c grammar/cheader.c
CHEADER_OBJS := $(CHEADER_SRCS:%.c=$(BUILD)/obj/%.o)
CHEADER_LIB  := $(BUILD)/libcheader.a

# A fresh checkout without the setup step still builds: fetch the grammar.
$(TSC_PARSER):
	sh scripts/setup.d/tree-sitter-c.sh

# Generated third-party code: keep the project's flags (and sanitizers) but
# not -Werror, so a newer compiler's new warning cannot break the build.
$(TSC_OBJ): override CFLAGS += -Wno-error -Wno-unused-parameter

$(CHEADER_LIB): $(CHEADER_OBJS) $(TSC_OBJ)
	@mkdir -p $(dir $@)
	rm -f $@
	$(AR) rcs $@ $^

BINS += $(CHEADER_LIB)

# ---- build/dsp-cshape: checks the shape of generated C (tests/tools/) ----
CSHAPE_SRCS := $(filter-out tests/tools/test_%.c,$(wildcard tests/tools/*.c))
CSHAPE_OBJS := $(CSHAPE_SRCS:%.c=$(BUILD)/obj/%.o)
CSHAPE_LIB_OBJS := $(filter-out %/cshape_main.o,$(CSHAPE_OBJS))
CSHAPE      := $(BUILD)/dsp-cshape

$(CSHAPE_OBJS) $(BUILD)/obj/tests/tools/test_cshape_detect.o: CPPFLAGS += -Igrammar

$(CSHAPE): $(CSHAPE_OBJS) $(CHEADER_LIB)
	$(CC) $(LDFLAGS) -o $@ $(CSHAPE_OBJS) $(CHEADER_LIB) $(TS_LIBS) -lm

BINS += $(CSHAPE)

# The path and key detectors, unit by unit.
$(BUILD)/tests/tools/test_cshape_detect: $(BUILD)/obj/tests/tools/test_cshape_detect.o \
        $(CSHAPE_LIB_OBJS) $(CHEADER_LIB)
	@mkdir -p $(dir $@)
	$(CC) $(LDFLAGS) -o $@ $< $(CSHAPE_LIB_OBJS) $(CHEADER_LIB) $(TS_LIBS) $(CMOCKA_LIBS) -lm

TEST_BINS += $(BUILD)/tests/tools/test_cshape_detect

# ---- tests ----
CHEADER_TEST_SRCS := $(wildcard tests/grammar/test_cheader*.c tests/grammar/test_csource*.c)
CHEADER_TEST_BINS := $(CHEADER_TEST_SRCS:tests/grammar/%.c=$(BUILD)/tests/grammar/%)
$(CHEADER_TEST_SRCS:%.c=$(BUILD)/obj/%.o): CPPFLAGS += -Igrammar

$(CHEADER_TEST_BINS): $(BUILD)/tests/grammar/%: $(BUILD)/obj/tests/grammar/%.o $(CHEADER_LIB)
	@mkdir -p $(dir $@)
	$(CC) $(LDFLAGS) -o $@ $< $(CHEADER_LIB) $(TS_LIBS) $(CMOCKA_LIBS)

TEST_BINS    += $(CHEADER_TEST_BINS)
TEST_SCRIPTS += tests/tools/test_cshape.sh
TEST_SCRIPTS += tests/tools/cshape_generated.sh
