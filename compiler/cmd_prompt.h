/* cmd_prompt.h — what `dspcc prompt` (cmd_prompt.c) shares with its
 * --run half (cmd_prompt_run.c). */
#ifndef DSPCC_CMD_PROMPT_H
#define DSPCC_CMD_PROMPT_H

#include "arena.h"
#include "cli_common.h"
#include "exec.h"
#include "state.h"
#include "strbuf.h"

typedef struct prompt_args {
    const char *file, *state, *predictor, *data, *input, *wire, *module;
    long long example;
    int has_example;
    int run;                    /* --run: run the module, show every call made */
    cli_client_args client;     /* --base-url, --no-cache, ... (with --run) */
} prompt_args;

/* lm as another wire would see it: the same model declared with that
 * provider (wire: "openai", "anthropic", "gemini" or "bedrock"; azure and
 * the presets speak "openai"). The copy lives in mem, or lm itself when
 * it speaks that wire already; NULL
 * with err filled when lm's model does not parse. */
const dsp_lm_config *prompt_on_wire(arena *mem, const dsp_lm_config *lm, const char *wire, dsp_error *err);

/* A client for ca, and a runner and configuration for module m on lm
 * (with the state's instructions, demos and lm when st is not NULL); 0 on
 * an error, printed. The caller frees what was made, also on failure. */
int prompt_setup(const cli_client_args *ca, const ir_program *p, const ir_module *m, const ir_lm *lm,
                 const st_state *st, dsp_client **client, ex_runner **runner, ex_config *cfg);

/* Appends messages in the layout of the fixture's request log: "[role]",
 * a newline and the text, messages separated by a blank line. */
void prompt_messages_text(strbuf *b, const dsp_message *msgs, size_t n);

/* --run: runs module m once on row `row` of data (with the state's
 * instructions, demos and lm when st is not NULL) and prints each LM call
 * it made, in order. Returns the exit status. */
int prompt_run(const prompt_args *a, const ir_program *p, const ir_module *m, const ir_lm *lm, const st_state *st,
               const ex_dataset *data, size_t row);

#endif
