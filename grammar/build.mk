# grammar/: the .dsp scanner and parser, generated into $(BUILD)/gen/grammar.
# (grammar/cheader.* and tree-sitter rules belong to another component and
# add their own lines below.)

FLEX  ?= flex
BISON ?= bison

GRAM_GEN     := $(BUILD)/gen/grammar
GRAM_PARSER_C:= $(GRAM_GEN)/parser.c
GRAM_PARSER_H:= $(GRAM_GEN)/parser.h
GRAM_LEXER_C := $(GRAM_GEN)/lexer.c
GRAM_LEXER_H := $(GRAM_GEN)/lexer.h
GRAM_HEADERS := $(GRAM_PARSER_H) $(GRAM_LEXER_H)
GRAM_OBJS    := $(BUILD)/obj/grammar/parser.o $(BUILD)/obj/grammar/lexer.o

$(GRAM_PARSER_C) $(GRAM_PARSER_H) &: grammar/parser.y
	@mkdir -p $(GRAM_GEN)
	$(BISON) -Wall -Werror --defines=$(GRAM_PARSER_H) -o $(GRAM_PARSER_C) $<

$(GRAM_LEXER_C) $(GRAM_LEXER_H) &: grammar/lexer.l
	@mkdir -p $(GRAM_GEN)
	$(FLEX) --header-file=$(GRAM_LEXER_H) -o $(GRAM_LEXER_C) $<

# Generated code is compiled with the project's flags, -Werror included.
GRAM_CPPFLAGS := -Icompiler -I$(GRAM_GEN)
$(BUILD)/obj/grammar/parser.o: $(GRAM_PARSER_C) $(GRAM_HEADERS)
	@mkdir -p $(dir $@)
	$(CC) $(CFLAGS) $(CPPFLAGS) $(GRAM_CPPFLAGS) -c $< -o $@

$(BUILD)/obj/grammar/lexer.o: $(GRAM_LEXER_C) $(GRAM_HEADERS)
	@mkdir -p $(dir $@)
	$(CC) $(CFLAGS) $(CPPFLAGS) $(GRAM_CPPFLAGS) -c $< -o $@
