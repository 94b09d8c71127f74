# compiler/codegen.mk — the optimized state (state*.c), the C backend
# (cg_*.c, cmd_build.c) and their tests. Included by the top-level Makefile
# after compiler/build.mk and runtime/build.mk. The objects join libdspcc.a
# as extra prerequisites (its recipe archives $^).

CG_SRCS := $(wildcard compiler/state*.c compiler/cg_*.c compiler/cmd_build.c)
CG_OBJS := $(CG_SRCS:%.c=$(BUILD)/obj/%.o)
$(CG_OBJS): CPPFLAGS += $(DSPCC_CPPFLAGS) $(RT_CPPFLAGS)
$(CG_OBJS): | $(GRAM_HEADERS)
$(CC_LIB): $(CG_OBJS)

# tests/compiler/test_*.c are built and registered by compiler/build.mk;
# ours need the runtime headers too.
CG_TEST_SRCS := tests/compiler/test_state.c
$(CG_TEST_SRCS:%.c=$(BUILD)/obj/%.o): CPPFLAGS += $(RT_CPPFLAGS)
TEST_SCRIPTS += tests/compiler/codegen.sh
