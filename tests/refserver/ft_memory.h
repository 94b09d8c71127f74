/* ft_memory.h — what a fine-tuned model of the fixture "learned": its
 * training examples, kept as extra demos for the in-context learner.
 *
 * Training data is OpenAI's chat fine-tuning format, one JSON object
 * {"messages":[...]} per line. An example written in dspcc's chat format
 * (a system message with the field list, then the final user message with
 * the inputs and the assistant's reply with the outputs) becomes one demo:
 * its input and output values by field name. A chat request to the
 * fine-tuned model gets those demos added to its own (matched to the
 * request's fields by name), so the model answers like the base model shown
 * them, even when the prompt has none: what fine-tuning does, in the terms
 * of this fixture. Examples in no recognised format are valid training data
 * but add nothing.
 */
#ifndef RS_FT_MEMORY_H
#define RS_FT_MEMORY_H

#include <stdbool.h>
#include <stddef.h>

#include "arena.h"
#include "prompt.h"

typedef struct rs_ft_pair {
    const char *name, *value;
} rs_ft_pair;

typedef struct rs_ft_example {
    rs_ft_pair *in, *out;
    size_t n_in, n_out;
} rs_ft_example;

typedef struct rs_ft_memory {
    rs_ft_example *ex; /* the examples that can serve as demos */
    size_t n;
    size_t n_examples; /* every line, usable as a demo or not */
    long words;        /* words of all messages: the fixture's token count */
} rs_ft_memory;

/* Checks data (len bytes of JSONL) line by line and fills m, allocated in a
 * (which must outlive m). On a bad line returns false with a message naming
 * the line in *msg (in a). */
bool rs_ft_memory_parse(rs_arena *a, const char *data, size_t len, rs_ft_memory *m, const char **msg);

/* Appends to t->demos the examples of m that fit t: at least one input and
 * one output field of t by name. Demos the prompt shows come first. */
void rs_ft_memory_add_demos(rs_arena *a, const rs_ft_memory *m, rs_task *t);

#endif
