/* react_int.h — internal: what the text and native react loops share
 * (react.c, react_native.c). */
#ifndef DSP_REACT_INT_H
#define DSP_REACT_INT_H

#include "dsp/react.h"
#include "textbuf.h"

/* Runs one tool call on the LM's name and arguments (args_len bytes of JSON
 * text; NULL is {}); always gives an observation, NULL only when out of
 * memory. An unknown tool, arguments that do not fit and a failing tool
 * give an observation starting "Error" or "Execution error". */
char *dsp_react_act(const dsp_react *r, const dsp_react_options *o, const char *name, const char *args_text,
                    size_t args_len);

/* The index of p's output called name, or -1. */
int dsp_react_output_index(const dsp_predictor *p, const char *name);

/* Appends "[[ ## name_idx ## ]]\ntext" to the trajectory, after a blank line. */
void dsp_react_put_block(dsp_textbuf *tb, const char *name, size_t idx, const char *text, size_t len);

/* The tool name the LM wrote, trimmed of spaces and quotes (malloc'ed; NULL
 * when out of memory). */
char *dsp_react_tool_name(const char *s, size_t len);

/* Tells the options' observer about a step or extract call; returns st, or
 * the observer's failure (then out, if it was filled, is freed). */
dsp_status dsp_react_notify(const dsp_react_options *o, const dsp_predictor *p, dsp_status st, const dsp_value *in,
                            dsp_value *out, const dsp_predict_trace *tr, dsp_error *err);

/* The steps of the loop with native tool calling (react_native.c). in holds
 * the signature's inputs and a slot for the trajectory; traj gets the same
 * blocks the text loop writes, for the extract step. */
dsp_status dsp_react_native_steps(dsp_client *c, const dsp_react *r, const dsp_react_options *o, dsp_value *in,
                                  dsp_textbuf *traj, dsp_error *err);

#endif
