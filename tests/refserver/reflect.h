/* reflect.h — answering GEPA's reflection prompt (dspcc's
 * ReflectOnFeedback signature, output `new_instruction`).
 *
 * The inputs `current_instruction` and `examples_with_feedback` (markdown:
 * `# Example N`, `## Inputs`, `## Outputs`, `## Feedback`, `### field`)
 * are read like a careful LM would: the label each example should have had
 * is taken from its feedback (`FIELD: x`, `FIELD is x`, `should be x`,
 * `expected x`); for every example whose output differs, the reply adds a
 * hint line `label: word, word` (the input's longest words that examples of
 * other labels in the batch do not share and the instruction does not name
 * yet) to the current instruction, in the format rs_parse_hints reads.
 * With no such failure the current instruction comes back unchanged.
 */
#ifndef RS_REFLECT_H
#define RS_REFLECT_H

#include "learner.h"

const char *rs_reflect_instruction(rs_arena *a, const rs_task *t);

#endif
