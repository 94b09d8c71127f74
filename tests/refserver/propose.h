/* propose.h — answering an instruction-proposal prompt.
 *
 * When the requested output is `proposed_instruction`, the inputs are read
 * for labelled examples (lines `input -> label`), a task description and a
 * tip, and the reply is an instruction that states the task and lists the
 * most distinctive words of each label's examples in the hint format that
 * rs_parse_hints reads back. The number of keywords and the wording vary
 * with the tip and seed so that different candidates score differently.
 */
#ifndef RS_PROPOSE_H
#define RS_PROPOSE_H

#include "learner.h"

const char *rs_propose_instruction(rs_arena *a, const rs_task *t, const rs_gen *g);

#endif
