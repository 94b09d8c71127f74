/* combine.h — answering GEPA's merge prompt for a predictor both parents
 * changed (dspcc's CombineInstructions signature, output
 * `combined_instruction`).
 *
 * The inputs `instruction_a` and `instruction_b` are combined the way a
 * careful LM keeps what both say: every line of A, then the lines of B
 * that A lacks; a hint line `label: word, word` of B for a label A has
 * hints for keeps only the words A does not name for it (dropped when
 * none is left), so the learner (rs_parse_hints) reads both sets of hints
 * once each (docs/refserver.md).
 */
#ifndef RS_COMBINE_H
#define RS_COMBINE_H

#include "learner.h"

const char *rs_combine_instructions(rs_arena *a, const rs_task *t);

#endif
