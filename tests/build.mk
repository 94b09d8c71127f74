# tests: build rules (filled in by the component).

# The interpreter's calls of list and output-parameter tools
# (tests/compiler/test_interp_tools.c, tests/compiler/interp_list_tools.sh):
# the shared fixture words.c and the edge cases of fixtures/interp_list_tools.c,
# built in a folder of their own so other tests' copies do not collide.
IT_TOOLS_DIR := $(BUILD)/tests/interp_tools
IT_WORDS_SO  := $(IT_TOOLS_DIR)/libwords.so
IT_LIST_SO   := $(IT_TOOLS_DIR)/libinterp_list_tools.so
$(IT_WORDS_SO): tests/compiler/fixtures/list_tools/words.c tests/compiler/fixtures/list_tools/words.h
	@mkdir -p $(dir $@)
	$(CC) $(CFLAGS) -fPIC -shared $(LDFLAGS) -o $@ $<
$(IT_LIST_SO): tests/compiler/fixtures/interp_list_tools.c
	@mkdir -p $(dir $@)
	$(CC) $(CFLAGS) -fPIC -shared $(LDFLAGS) -o $@ $<
$(BUILD)/obj/tests/compiler/test_interp_tools.o: CPPFLAGS += $(RT_CPPFLAGS)
$(BUILD)/tests/compiler/test_interp_tools: $(IT_WORDS_SO) $(IT_LIST_SO)
TEST_SCRIPTS += tests/compiler/interp_list_tools.sh

# Every ```dsp block of README.md and docs/*.md is checked (and formatted) as shown.
TEST_SCRIPTS += tests/docs/dsp_blocks.sh
# dspcc --help, each command's --help and docs/dspcc.1 agree with the options each command takes.
TEST_SCRIPTS += tests/docs/help_man.sh
# docs/language.md's optimizer, lm option and provider tables name exactly what dspcc takes.
TEST_SCRIPTS += tests/docs/doc_tables.sh
# The C examples of docs/*.md marked <!-- c-check --> compile with -Wall -Wextra -Werror.
TEST_SCRIPTS += tests/docs/c_blocks.sh
