# compiler/codegen.mk — the optimized state (state*.c), the C backend
# (cg_*.c, cmd_build.c) and their tests. Included by the top-level Makefile
# after compiler/build.mk and runtime/build.mk. The objects join libdspcc.a
# as extra prerequisites (its recipe archives $^).

CG_SRCS := $(wildcard compiler/state*.c compiler/cg_*.c compiler/cmd_build.c compiler/cmd_init.c)
CG_OBJS := $(CG_SRCS:%.c=$(BUILD)/obj/%.o)
$(CG_OBJS): CPPFLAGS += $(DSPCC_CPPFLAGS) $(RT_CPPFLAGS)
$(CG_OBJS): | $(GRAM_HEADERS)
$(CC_LIB): $(CG_OBJS)

# tests/compiler/test_*.c are built and registered by compiler/build.mk;
# ours need the runtime headers too.
CG_TEST_SRCS := tests/compiler/test_state.c tests/compiler/test_cg_text.c
$(CG_TEST_SRCS:%.c=$(BUILD)/obj/%.o): CPPFLAGS += $(RT_CPPFLAGS)
TEST_SCRIPTS += tests/compiler/codegen.sh
# Tools with lists and output parameters (fixtures list_tools, codegen_tools).
TEST_SCRIPTS += tests/compiler/codegen_tools.sh
# A map input copied by the generated C: linear in its keys, repeated keys as puts leave them (fixture map_copy).
TEST_SCRIPTS += tests/compiler/map_copy.sh
# The interpreter and the generated C on the same tool calls (fixture tools_parity).
TEST_SCRIPTS += tests/compiler/tools_parity.sh
# Records, maps and optionals: checker, loader, interpreter, set metrics,
# generated C and their parity (fixture records).
TEST_SCRIPTS += tests/compiler/records.sh
# react over C tools: the interpreter and the generated C give the same trajectories (fixture react).
TEST_SCRIPTS += tests/compiler/react_parity.sh
# C tools taking and returning structs (records): react and direct calls, interpreter vs generated C (fixture react_records).
TEST_SCRIPTS += tests/compiler/react_records.sh
# C tools taking and returning map<string, T>: in structs, as parameters and results, react (fixture react_maps).
TEST_SCRIPTS += tests/compiler/react_maps.sh
# react with tool_calling: native, on the OpenAI and Anthropic wires, with damaged tool calls (fixture).
TEST_SCRIPTS += tests/compiler/react_native.sh
# best_of_n, refine, majority: the interpreter and the generated C keep the same samples (fixture sample).
TEST_SCRIPTS += tests/compiler/sample_parity.sh
# best_of_n, refine, majority and multi_chain_comparison optimized, then eval --state and the built C agree (fixture).
TEST_SCRIPTS += tests/compiler/strategies_optimize.sh
# examples/tickets/ticket_stream: NAME_run_stream prints the reasoning as it arrives, equal to NAME_run (fixture).
TEST_SCRIPTS += tests/compiler/stream_example.sh

# --embed-runtime: libdsprt's sources, made into text blobs at build time
# by compiler/tools/rt_amalgam.c and linked into dspcc (cg_rt_public,
# cg_rt_private). Public headers in dependency order; new ones follow.
RT_PUBLIC_ORDER := $(addprefix runtime/include/dsp/,error.h chat.h client.h signature.h value.h adapter.h predict.h)
RT_PUBLIC_HDRS  := $(RT_PUBLIC_ORDER) $(filter-out $(RT_PUBLIC_ORDER),$(wildcard runtime/include/dsp/*.h))
RT_INTERNAL_HDRS := $(wildcard runtime/src/*.h)
RT_AMALGAM      := $(BUILD)/tools/rt_amalgam
CG_RT_BLOB      := $(BUILD)/gen/compiler/cg_rt_blob.c
CG_RT_BLOB_OBJ  := $(BUILD)/obj/gen/compiler/cg_rt_blob.o

$(RT_AMALGAM): $(BUILD)/obj/compiler/tools/rt_amalgam.o
	@mkdir -p $(dir $@)
	$(CC) $(LDFLAGS) -o $@ $<

$(CG_RT_BLOB): $(RT_AMALGAM) $(RT_PUBLIC_HDRS) $(RT_INTERNAL_HDRS) $(RT_SRCS)
	@mkdir -p $(dir $@)
	$(RT_AMALGAM) $@ $(RT_PUBLIC_HDRS) -- $(RT_INTERNAL_HDRS) -- $(RT_SRCS)

$(CG_RT_BLOB_OBJ): $(CG_RT_BLOB)
	@mkdir -p $(dir $@)
	$(CC) $(CFLAGS) -c $< -o $@

$(CC_LIB): $(CG_RT_BLOB_OBJ)

# make bench-codegen: `dspcc build` against `dspcc check` on a generated
# 800-module program (issue 18's target: build <= 3x check).
.PHONY: bench-codegen
bench-codegen: $(BUILD)/dspcc
	BUILD=$(BUILD) sh tests/bench/bench_codegen.sh
