# compiler/: the dspcc driver and its front end (AST, sema, IR), built as a
# static library libdspcc.a (everything but main.c) so tests link the same
# code, plus the stdlib tables the checker knows.

# The front end's files are listed (not wildcarded) so work in progress by
# other components in compiler/ does not land in the library by accident;
# add yours to CC_SRCS.
FE_SRCS    := arena.c strbuf.c strfmt.c file_write.c file_read.c diag.c ast.c parse.c sema.c sema_decls.c sema_data.c datafile.c sema_module.c \
              sema_metric.c sema_feedback.c sema_optimize.c sema_tool_header.c sema_react.c sema_sample.c trainer_argv.c ir.c ir_json.c cmd_check.c cmd_dump_ir.c diag_format.c \
              cli_options.c
# Record and map shapes of data files at check time.
FE_SRCS    += sema_data_shapes.c
# The optimizers (opt*.c, tpe.c, rng.c, report*.c, cmd_optimize.c).
OPT_SRCS   := $(wildcard compiler/opt*.c compiler/report*.c) compiler/tpe.c compiler/rng.c compiler/cmd_optimize.c
# The interpreter, data sets, metrics and evaluation (exec.h, cmd_eval.c).
EXEC_SRCS  := $(wildcard compiler/interp*.c compiler/dataset*.c compiler/metric_*.c compiler/eval*.c) \
              compiler/ir_runtime.c compiler/progress.c compiler/cmd_eval.c compiler/cmd_prompt.c compiler/cmd_prompt_run.c compiler/cli_common.c
CC_SRCS    := $(FE_SRCS:%=compiler/%) $(OPT_SRCS) $(EXEC_SRCS) $(wildcard stdlib/*.c)
CC_OBJS    := $(CC_SRCS:%.c=$(BUILD)/obj/%.o)
CC_LIB     := $(BUILD)/libdspcc.a
DSPCC      := $(BUILD)/dspcc
DSPCC_CPPFLAGS := -Icompiler -Istdlib -Igrammar -I$(GRAM_GEN) $(CJSON_CFLAGS) -DDSPCC_VERSION='"$(VERSION)"'
DSPCC_LIBS := $(CJSON_LIBS) -lm

$(CC_OBJS) $(BUILD)/obj/compiler/main.o: CPPFLAGS += $(DSPCC_CPPFLAGS)
# The generated parser header must exist before anything includes it.
$(CC_OBJS) $(BUILD)/obj/compiler/main.o: | $(GRAM_HEADERS)

$(CC_LIB): $(CC_OBJS) $(GRAM_OBJS)
	@mkdir -p $(dir $@)
	rm -f $@
	$(AR) rcs $@ $^

$(DSPCC): $(BUILD)/obj/compiler/main.o $(CC_LIB)
	$(CC) $(LDFLAGS) -o $@ $< $(CC_LIB) $(DSPCC_LIBS)

BINS += $(DSPCC)

# The interpreter and evaluator (exec.h) run programs through libdsprt, so
# the compiler sees its headers and links it. Recursive (=) so RT_* from
# runtime/build.mk, included later, are expanded at use.
$(CC_OBJS) $(BUILD)/obj/compiler/main.o: CPPFLAGS += $(RT_CPPFLAGS)
$(DSPCC): $(BUILD)/libdsprt.a $(CHEADER_LIB)
DSPCC_LIBS = $(RT_LIB) $(RT_DEPLIBS) $(CHEADER_LIB) $(TS_LIBS) -lffi -ldl -lm

# ---- tests of the front end (tests/compiler, tests/bad, tests/golden) ----
FE_TEST_SRCS := $(wildcard tests/compiler/test_*.c)
FE_TEST_BINS := $(FE_TEST_SRCS:tests/compiler/%.c=$(BUILD)/tests/compiler/%)
FE_FUZZ      := $(BUILD)/tests/compiler/fuzz_check

$(FE_TEST_SRCS:%.c=$(BUILD)/obj/%.o) $(BUILD)/obj/tests/compiler/fuzz_check.o: CPPFLAGS += $(DSPCC_CPPFLAGS)
$(FE_TEST_SRCS:%.c=$(BUILD)/obj/%.o) $(BUILD)/obj/tests/compiler/fuzz_check.o: | $(GRAM_HEADERS)

# libdsprt.a by name: runtime/build.mk, which defines RT_LIB, is read after this file.
$(BUILD)/tests/compiler/%: $(BUILD)/obj/tests/compiler/%.o $(CC_LIB) $(BUILD)/libdsprt.a $(CHEADER_LIB)
	@mkdir -p $(dir $@)
	$(CC) $(LDFLAGS) -o $@ $< $(CC_LIB) $(CMOCKA_LIBS) $(DSPCC_LIBS)

# The front end's own tests link only the front end (libdspcc_fe.a), so they
# build and run whatever state the rest of compiler/ is in.
FE_LIB       := $(BUILD)/libdspcc_fe.a
FE_LIB_OBJS  := $(FE_SRCS:%.c=$(BUILD)/obj/compiler/%.o) $(patsubst %.c,$(BUILD)/obj/%.o,$(wildcard stdlib/*.c))
# The provider table (lm strings) is libdsprt's, in a file that needs nothing else.
FE_LIB_OBJS  += $(BUILD)/obj/runtime/src/providers.o
FE_OWN_TESTS := $(addprefix $(BUILD)/tests/compiler/,test_lexer test_parser test_sema test_ir fuzz_check)

$(FE_LIB): $(FE_LIB_OBJS) $(GRAM_OBJS)
	@mkdir -p $(dir $@)
	rm -f $@
	$(AR) rcs $@ $^

$(FE_OWN_TESTS): $(BUILD)/tests/compiler/%: $(BUILD)/obj/tests/compiler/%.o $(FE_LIB) $(CHEADER_LIB)
	@mkdir -p $(dir $@)
	$(CC) $(LDFLAGS) -o $@ $< $(FE_LIB) $(CHEADER_LIB) $(TS_LIBS) $(CMOCKA_LIBS) $(CJSON_LIBS) -lm

# The optimizer tests include exec.h/opt.h, which use libdsprt's headers.
$(BUILD)/obj/tests/compiler/test_opt_%.o: CPPFLAGS += $(RT_CPPFLAGS)
# Two of them search over one fake program (tests/support/opt_fake.c).
OPT_FAKE_OBJ := $(BUILD)/obj/tests/support/opt_fake.o
$(OPT_FAKE_OBJ): CPPFLAGS += $(DSPCC_CPPFLAGS) $(RT_CPPFLAGS)
$(OPT_FAKE_OBJ): | $(GRAM_HEADERS)
$(BUILD)/obj/tests/compiler/test_opt_core.o $(BUILD)/obj/tests/compiler/test_opt_better_together.o: CPPFLAGS += -Itests/support
$(BUILD)/tests/compiler/test_opt_core $(BUILD)/tests/compiler/test_opt_better_together: $(OPT_FAKE_OBJ)
$(BUILD)/tests/compiler/test_opt_core $(BUILD)/tests/compiler/test_opt_better_together: DSPCC_LIBS += $(OPT_FAKE_OBJ)
# dspcc optimize end to end against the reference server (a test fixture).
TEST_SCRIPTS += tests/compiler/optimize_e2e.sh
TEST_SCRIPTS += tests/compiler/optimize_copro_e2e.sh
TEST_SCRIPTS += tests/compiler/optimize_trust_e2e.sh
TEST_SCRIPTS += tests/compiler/optimize_gepa_e2e.sh
TEST_SCRIPTS += tests/compiler/optimize_guard_gepa_simba.sh
TEST_SCRIPTS += tests/compiler/optimize_guard_all.sh
# A note naming each predictor labeled_fewshot / bootstrap_fewshot gave no demos, and why.
TEST_SCRIPTS += tests/compiler/optimize_nodemos_note.sh
# Training rows repeating the inputs of a row scored on are left out of the trainset.
TEST_SCRIPTS += tests/compiler/optimize_overlap.sh
TEST_SCRIPTS += tests/compiler/gepa_vs_mipro.sh
TEST_SCRIPTS += tests/compiler/optimize_simba_e2e.sh
# SIGKILL mid-run, then a re-run: bootstrap_fewshot, labeled_fewshot, random_search.
TEST_SCRIPTS += tests/compiler/optimize_resume.sh
# knn_fewshot: embeddings, the quality figure on a subset of the intents, the generated C against eval.
TEST_SCRIPTS += tests/compiler/knn_e2e.sh
# knn_fewshot's embeddings calls in traces and in `dspcc prompt --run`.
TEST_SCRIPTS += tests/compiler/knn_trace.sh
# knn_fewshot's pool bootstrapped from the teacher's traces (chain of thought), and bootstrap: false.
TEST_SCRIPTS += tests/compiler/knn_bootstrap.sh
# ensemble: the best random_search candidates voting, in eval and the generated C.
TEST_SCRIPTS += tests/compiler/ensemble_e2e.sh
# ensemble's members, size (per-call subset) and field options.
TEST_SCRIPTS += tests/compiler/ensemble_options.sh
# ensemble(states: [...]): saved states of the program as the members.
TEST_SCRIPTS += tests/compiler/ensemble_states.sh
# knn_fewshot and ensemble states in a shadow variant (dspcc build --shadow-state), against each state alone.
TEST_SCRIPTS += tests/compiler/shadow_knn_ensemble.sh
TEST_SCRIPTS += tests/compiler/metric_feedback.sh tests/compiler/pred_feedback.sh
TEST_SCRIPTS += tests/compiler/better_together_e2e.sh
# better_together with a local LoRA trainer, served as vLLM and llama.cpp serve adapters.
TEST_SCRIPTS += tests/compiler/lora_e2e.sh
# examples/tickets/bettertogether.sh: the seed workflow, teacher and student side by side, shadow mode.
TEST_SCRIPTS += tests/compiler/bettertogether_example.sh
# Shadow mode compares lists of records, maps and numbers whole.
TEST_SCRIPTS += tests/compiler/shadow_records.sh
$(BUILD)/obj/tests/compiler/test_interp.o $(BUILD)/obj/tests/compiler/test_dataset.o \
$(BUILD)/obj/tests/compiler/test_metric_eval.o $(BUILD)/obj/tests/compiler/test_interp_live.o \
$(BUILD)/obj/tests/compiler/test_eval_classes.o: CPPFLAGS += $(RT_CPPFLAGS)
TEST_BINS    += $(FE_TEST_BINS) $(FE_FUZZ)
TEST_SCRIPTS += tests/compiler/cli.sh tests/compiler/bad_programs.sh tests/compiler/golden.sh
TEST_SCRIPTS += tests/compiler/cli_errors.sh tests/compiler/cli_options.sh tests/compiler/fifo_inputs.sh tests/compiler/check_formats.sh tests/compiler/init.sh

# The interpreter's tests load tools from a shared object built here.
INTERP_TOOLS_SO := $(BUILD)/tests/compiler/libinterp_tools.so
$(INTERP_TOOLS_SO): tests/compiler/fixtures/interp_tools.c
	@mkdir -p $(dir $@)
	$(CC) $(CFLAGS) -fPIC -shared $(LDFLAGS) -o $@ $<
$(BUILD)/tests/compiler/test_interp $(BUILD)/tests/compiler/test_metric_eval: $(INTERP_TOOLS_SO)
# It runs predictors against the fixture server.
$(BUILD)/tests/compiler/test_interp_live: $(BUILD)/dsp-refserver $(BUILD)/obj/tests/support/refserver_proc.o
$(BUILD)/tests/compiler/test_interp_live: DSPCC_LIBS += $(BUILD)/obj/tests/support/refserver_proc.o
TEST_SCRIPTS += tests/compiler/eval_batch.sh
# --batch-export / --batch-import: files for vLLM's batch runner (a stand-in writes its output format).
TEST_SCRIPTS += tests/compiler/eval_batch_vllm.sh
TEST_SCRIPTS += tests/compiler/eval_e2e.sh tests/compiler/prompt.sh tests/compiler/eval_predictions.sh tests/compiler/trace.sh
TEST_SCRIPTS += tests/compiler/estimate.sh tests/compiler/report_view.sh
# A program of C tools only: eval and build need no lm (and build does not optimize).
TEST_SCRIPTS += tests/compiler/tools_only.sh
# Every documented lm option reaches the requests (against the fixture).
TEST_SCRIPTS += tests/compiler/lm_options.sh tests/compiler/lm_endpoints.sh tests/compiler/reply_limits.sh \
                tests/compiler/breaker.sh
TEST_SCRIPTS += tests/compiler/tool_header.sh

# dspcc fmt: the canonical layout printer (compiler/fmt*.c, cmd_fmt.c), in libdspcc.a.
FMT_OBJS := $(patsubst %.c,$(BUILD)/obj/%.o,$(wildcard compiler/fmt*.c) compiler/cmd_fmt.c)
$(FMT_OBJS): CPPFLAGS += $(DSPCC_CPPFLAGS)
$(FMT_OBJS): | $(GRAM_HEADERS)
$(CC_LIB): $(FMT_OBJS)
TEST_SCRIPTS += tests/compiler/fmt.sh
# Enum values written as strings: check, fmt, generated C, eval against the fixture.
TEST_SCRIPTS += tests/compiler/enum_strings.sh
# A predictor result fed back into its own call: interpreter and generated C agree.
TEST_SCRIPTS += tests/compiler/refine_parity.sh
# Gold-only fields, fields checked before any LM call, --data NAME=PATH.
TEST_SCRIPTS += tests/compiler/data_fields.sh
TEST_SCRIPTS += tests/compiler/examples_e2e.sh
# examples/agent: react over a C search tool, optimized, shipped as agent_cli.
TEST_SCRIPTS += tests/compiler/agent_example.sh
TEST_SCRIPTS += tests/compiler/entities_example.sh

# make bench-gepa: gepa (light) against mipro (light) on the intents and the
# IT tickets, dev and held-out rows, several seeds (docs/optimize.md).
.PHONY: bench-gepa
bench-gepa: $(BUILD)/dspcc $(BUILD)/dsp-refserver
	BUILD=$(BUILD) sh tests/bench/bench_gepa.sh

# make bench-optimizers: every optimizer on every example, a few seeds: the
# scores optimize prints against dspcc eval --no-cache, the no-regression
# guard, and what ships against the program as written on training rows no
# optimizer saw (docs/optimize.md, "Every optimizer on every example").
.PHONY: bench-optimizers
bench-optimizers: $(BUILD)/dspcc $(BUILD)/dsp-refserver $(MULTIHOP_TOOL) $(AGENT_TOOL)
	BUILD=$(BUILD) sh tests/bench/bench_optimizers.sh
# The same, tiny (two examples, two optimizers, one seed), in make test.
TEST_SCRIPTS += tests/bench/bench_optimizers_smoke.sh

# make bench-mipro: mipro at -j 64 against the fixture at 50 ms latency, its
# wall time against the concurrency bound (issue 18's target: <= 1.5x).
.PHONY: bench-mipro
bench-mipro: $(BUILD)/dspcc $(BUILD)/dsp-refserver
	BUILD=$(BUILD) sh tests/bench/bench_mipro.sh
