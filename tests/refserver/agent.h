/* agent.h — the reference server as a ReAct agent (a TEST FIXTURE).
 *
 * A react step (dsp/react.h) is a task whose inputs end with `trajectory`
 * and whose outputs are next_thought, next_tool_name and next_tool_args.
 * The fixture reads the tools and their argument schemas from the
 * instructions' list ("(1) search: ... Arguments: {...}"), or, when the
 * instructions no longer list them, from the next_tool_name description and
 * from an earlier "It takes {...}" error observation. It picks a tool by
 * what its demos chose at the same step, else by the words the question
 * shares with the tools' names and descriptions; fills string arguments
 * with the question's key words and numbers from its demos; and calls
 * `finish` once an observation shares a word with the question (or after
 * two observations). Temperature 0 is deterministic.
 */
#ifndef RS_AGENT_H
#define RS_AGENT_H

#include <stdbool.h>

#include "arena.h"
#include "learner.h"
#include "prompt.h"

/* Is this a react step? */
bool rs_agent_is_step(const rs_task *t);
/* Fills values[i] for each output of a react step. */
void rs_agent_step(rs_arena *a, const rs_task *t, const rs_gen *g, const char **values);
/* Any other task with a `trajectory` input (react's extract step): the
 * learner reads only the trajectory's observations, as the answer's source. */
void rs_agent_prepare(rs_arena *a, rs_task *t);

#endif
