# examples/agent: the example's search tool, which its program loads from
# build/libsearch.so relative to the .dsp file, built in the example's folder
# (the same file `make -C examples/agent` builds) and never sanitized, as
# examples/multihop's tool. SEARCH_DIR makes the default corpus resolve
# against the example's folder from any directory.

AGENT_TOOL := examples/agent/build/libsearch.so

$(AGENT_TOOL): examples/agent/search.c examples/agent/search.h examples/agent/build.mk
	@mkdir -p $(dir $@)
	$(CC) $(CSTD) $(WARN) -O2 -DSEARCH_DIR='"$(abspath examples/agent)"' -shared -fPIC -o $@ $< -lm

all: $(AGENT_TOOL)

clean: clean-agent-example
.PHONY: clean-agent-example
clean-agent-example:
	rm -rf examples/agent/build
