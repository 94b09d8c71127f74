# compiler/: the dspcc driver and its front end (AST, sema, IR), built as a
# static library libdspcc.a (everything but main.c) so tests link the same
# code, plus the stdlib tables the checker knows.

# The front end's files are listed (not wildcarded) so work in progress by
# other components in compiler/ does not land in the library by accident;
# add yours to CC_SRCS.
FE_SRCS    := arena.c diag.c ast.c parse.c sema.c sema_decls.c sema_data.c sema_module.c \
              sema_metric.c sema_optimize.c ir.c ir_json.c cmd_check.c cmd_dump_ir.c
CC_SRCS    := $(FE_SRCS:%=compiler/%) $(wildcard stdlib/*.c)
CC_OBJS    := $(CC_SRCS:%.c=$(BUILD)/obj/%.o)
CC_LIB     := $(BUILD)/libdspcc.a
DSPCC      := $(BUILD)/dspcc
DSPCC_CPPFLAGS := -Icompiler -Istdlib -I$(GRAM_GEN) $(CJSON_CFLAGS) -DDSPCC_VERSION='"$(VERSION)"'
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
