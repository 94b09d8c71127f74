# examples/multihop: the example's retrieval tool, which its program loads
# from build/libretriever.so relative to the .dsp file. It is built in the
# example's folder (the same file `make -C examples/multihop` builds) and
# never sanitized: an ASan dspcc can load a plain library, but a plain
# dspcc cannot load an ASan one. RETRIEVER_DIR makes the corpus path the
# program passes resolve against the example's folder from any directory.

MULTIHOP_TOOL := examples/multihop/build/libretriever.so

$(MULTIHOP_TOOL): examples/multihop/retriever.c examples/multihop/build.mk
	@mkdir -p $(dir $@)
	$(CC) $(CSTD) $(WARN) -O2 -DRETRIEVER_DIR='"$(abspath examples/multihop)"' -shared -fPIC -o $@ $<

all: $(MULTIHOP_TOOL)

clean: clean-examples
.PHONY: clean-examples
clean-examples:
	rm -rf examples/multihop/build
