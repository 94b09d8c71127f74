/* dsp/react.h — an agent loop over C tools, after DSPy's ReAct.
 *
 * Each step asks the `step` predictor (the signature's inputs plus a
 * `trajectory` text; outputs `next_thought`, `next_tool_name`,
 * `next_tool_args`) for a thought, a tool and the tool's arguments as a JSON
 * object. The loop checks the arguments against the tool's parameters, calls
 * the tool, and appends thought, tool, arguments and observation to the
 * trajectory. The pseudo tool `finish` ends the loop; `max_iters` bounds it.
 * Then the `extract` predictor (the same inputs, the signature's outputs,
 * usually chain of thought) reads the whole trajectory and produces the
 * typed outputs.
 *
 * Nothing a step does with a tool fails the call: an unknown tool name,
 * arguments that are not a JSON object or do not fit the parameters, and a
 * tool that fails, each become an observation the LM sees on the next step.
 * An observation longer than max_observation bytes is cut (at a UTF-8
 * character boundary) with a note saying so. A step whose reply cannot be
 * parsed ends the loop early (the extract step still runs, as in DSPy); a
 * transport failure (network, HTTP, key) fails the call.
 *
 * The trajectory is text in the chat adapter's block format:
 *
 *     [[ ## thought_0 ## ]]
 *     I should search for the author.
 *
 *     [[ ## tool_name_0 ## ]]
 *     search
 *
 *     [[ ## tool_args_0 ## ]]
 *     {"query": "author of Dune"}
 *
 *     [[ ## observation_0 ## ]]
 *     Dune is a 1965 novel by Frank Herbert.
 *
 * The interpreter and generated C both run this loop; only how a tool is
 * called differs (libffi there, a direct call here), so they behave alike.
 */
#ifndef DSP_REACT_H
#define DSP_REACT_H

#include <stddef.h>

#include "dsp/client.h"
#include "dsp/error.h"
#include "dsp/predict.h"
#include "dsp/signature.h"
#include "dsp/value.h"

#ifdef __cplusplus
extern "C" {
#endif

/* Calls a tool: args holds one value per tool parameter (checked against
 * their types); results, zeroed, gets one value per tool result on DSP_OK
 * and must be left empty otherwise. A failure's message becomes the
 * observation. */
struct dsp_tool;
typedef dsp_status (*dsp_tool_fn)(void *ctx, const struct dsp_tool *tool, const dsp_value *args, dsp_value *results,
                                  dsp_error *err);

typedef struct dsp_tool {
    const char *name;            /* what the LM writes in next_tool_name */
    const char *description;     /* NULL: none */
    const dsp_field *params;     /* the JSON arguments, by name */
    size_t n_params;
    const dsp_field *results;    /* one unnamed-ish value, or a record of outputs */
    size_t n_results;
    dsp_tool_fn call;
    const void *data;            /* the caller's, for its tool function */
} dsp_tool;

/* Observations longer than this many bytes are cut, unless the react says otherwise. */
#define DSP_REACT_MAX_OBSERVATION 4000

typedef struct dsp_react {
    const dsp_predictor *step;    /* inputs: the signature's, then `trajectory` */
    const dsp_predictor *extract; /* inputs: the same; outputs: what the call yields */
    const dsp_tool *tools;
    size_t n_tools;
    int max_iters;                /* >= 1 */
    size_t max_observation;       /* bytes; 0: DSP_REACT_MAX_OBSERVATION */
} dsp_react;

/* Called after every predictor call of the loop (status DSP_OK: out holds
 * its outputs; otherwise out is NULL), for traces and usage. A non-OK
 * return stops the run with that error. */
typedef dsp_status (*dsp_react_observer)(void *ctx, const dsp_predictor *p, dsp_status status, const dsp_value *in,
                                         const dsp_value *out, const dsp_predict_trace *trace, dsp_error *err);

typedef struct dsp_react_options {
    const dsp_predict_options *step_opts;    /* NULL: the predictor's */
    const dsp_predict_options *extract_opts; /* NULL: the predictor's */
    void *tool_ctx;                          /* passed to every dsp_tool_fn */
    dsp_react_observer observe;              /* NULL: none */
    void *observe_ctx;
} dsp_react_options;

/* Runs the loop. inputs: one value per signature input (the step's inputs
 * without `trajectory`). outputs: room for the extract predictor's outputs
 * (dsp_strategy_n_outputs) plus one, zeroed: they get the extract's outputs,
 * then the trajectory as a string. o may be NULL. */
dsp_status dsp_react_run(dsp_client *c, const dsp_react *r, const dsp_react_options *o, const dsp_value *inputs,
                         dsp_value *outputs, dsp_error *err);

/* The step's arguments for tool t from the LM's text: a JSON object with
 * one member per parameter (empty text is {}). On DSP_OK, args (n_params
 * values, zeroed) is filled; otherwise *problem gets a malloc'ed sentence
 * saying what does not fit and what the tool takes. */
dsp_status dsp_tool_bind_args(const dsp_tool *t, const char *json, size_t len, dsp_value *args, char **problem);

/* What the tool takes, as JSON: {"query": {"type": "string"}, "k": {"type":
 * "integer"}} (malloc'ed; NULL when out of memory). */
char *dsp_tool_args_schema(const dsp_tool *t);

/* The observation text of a call's results: the value's adapter text for a
 * single result, a JSON object of the results otherwise. NULL when out of
 * memory. */
char *dsp_tool_observation(const dsp_tool *t, const dsp_value *results);

/* Cuts text (malloc'ed) to at most max bytes at a character boundary and
 * adds a note with the sizes; returns the text (possibly reallocated). */
char *dsp_react_truncate(char *text, size_t max);

#ifdef __cplusplus
}
#endif
#endif
