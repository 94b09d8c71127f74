/* learner.h — the reference server's deterministic in-context "model".
 *
 * Given a parsed task it fills one value per output field, as the text that
 * goes inside the field's `[[ ## name ## ]]` block:
 *  - enum and bool outputs: a weighted k-nearest-neighbour vote over the
 *    demos (TF-IDF cosine between the inputs) plus label keyword hints found
 *    in the instructions, plus a weak bonus for label names that occur in the
 *    input; with no evidence at all, a guess from a hash of the input;
 *  - free text: the nearest demo's value (or a span of the input for
 *    extractive tasks), or the input's first sentence without demos;
 *  - reasoning: one sentence naming the evidence used;
 *  - int/float: the demos' weighted mean when their numbers are judgements,
 *    else the last number in the inputs, within the range the field's
 *    description states; lists (a span of the input for extractive lists
 *    of strings) and objects as JSON;
 *  - `proposed_instruction`: see propose.h.
 * Temperature 0 is fully deterministic; above 0 it samples among the top
 * candidates with the seed given.
 */
#ifndef RS_LEARNER_H
#define RS_LEARNER_H

#include <stdint.h>

#include "arena.h"
#include "prompt.h"
#include "text.h"

typedef struct rs_gen {
    double temperature;
    uint64_t seed; /* already mixed from the request, its `seed` and --seed */
} rs_gen;

/* values[i] for every output field i (never NULL afterwards). */
void rs_learn(rs_arena *a, const rs_task *t, const rs_gen *g, const char **values);

/* Keyword hints for each label found in instructions: lines (or
 * ';'-separated segments) of the form `label: word, word, ...` where label is
 * one of labels (case-insensitive). hints[i] gets the stemmed token ids. */
void rs_parse_hints(rs_vocab *v, const char *instructions, const char *const *labels, size_t n,
                    rs_tokens *hints);

#endif
