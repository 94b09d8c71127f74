/* reflect.h — answering GEPA's reflection prompt (dspcc's
 * ReflectOnFeedback signature, output `new_instruction`).
 *
 * The inputs `current_instruction` and `examples_with_feedback` (markdown:
 * `# Example N`, `## Inputs`, `## Outputs`, `## Feedback`, `### field`)
 * are read like a careful LM would: the label each example should have had
 * is taken from its feedback (`FIELD: x`, `FIELD is x`, `should be x`,
 * `expected x`, to the end of the clause, so labels may have spaces); hint
 * words of a label it wrongly gave that the failed input holds are taken
 * back; for every example whose output differs, the reply adds a hint line
 * `label: word, word` (words of the input that examples of other labels
 * in the batch do not share, not in another label's name, not generic,
 * not named by the instruction yet; shared with other examples of the
 * label first, then repeated ones, then earlier ones) to the current
 * instruction, in the format rs_parse_hints reads (docs/refserver.md).
 * With no such failure the current instruction comes back unchanged.
 */
#ifndef RS_REFLECT_H
#define RS_REFLECT_H

#include "learner.h"

const char *rs_reflect_instruction(rs_arena *a, const rs_task *t);

#endif
