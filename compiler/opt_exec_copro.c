/* opt_exec_copro.c — COPRO's instruction proposals on the interpreter's
 * client (opt_backend.propose_copro, see opt_copro.c).
 *
 * Two signatures, as in DSPy: the first round asks for an instruction from
 * the basic one (BasicGenerateInstruction); later rounds also show the
 * attempts so far with their scores, worst first
 * (GenerateInstructionGivenAttempts). Both also carry labelled training
 * rows (`input -> label` lines): DSPy's COPRO shows none, but an
 * instruction written without seeing the data can only rephrase the task,
 * and the rows sampled for each candidate make the candidates differ even
 * where sampling does not (a cached or deterministic teacher). The output
 * field `proposed_instruction` is what the reference server (a test
 * fixture) keys on.
 */
#include <string.h>

#include "opt_exec.h"

static const dsp_field k_copro_in[] = {
    { "basic_instruction", &dsp_type_string, "The initial instructions before optimization." },
    { "task_demos", &dsp_type_string, "Example inputs and labels of the task, one `input -> label` a line." },
    { "attempted_instructions", &dsp_type_string,
      "Instructions tried so far with their validation scores, in increasing order of score." },
};
static const dsp_field k_copro_out[] = {
    { "proposed_instruction", &dsp_type_string, "The improved instructions for the language model." },
};

static const dsp_signature k_copro_first = {
    "GenerateInstruction",
    "You are an instruction optimizer for large language models. I will give you the basic instruction of a task "
    "and examples of its inputs and labels. Your task is to propose an instruction that will lead a good language "
    "model to perform the task well. Don't be afraid to be creative.",
    k_copro_in, 2, k_copro_out, 1,
};
static const dsp_signature k_copro_next = {
    "GenerateInstructionGivenAttempts",
    "You are an instruction optimizer for large language models. I will give some task instructions I've tried, "
    "along with their corresponding validation scores. The instructions are arranged in increasing order based on "
    "their scores, where higher scores indicate better quality. Your task is to propose a new instruction that will "
    "lead a good language model to perform the task even better. Don't be afraid to be creative.",
    k_copro_in, 3, k_copro_out, 1,
};

/* Anthropic's API takes temperatures up to 1 (OpenAI's up to 2); DSPy's
 * default of 1.4 would be refused there, so it is capped. */
static double teacher_temperature(const dsp_lm_config *lm, double t)
{
    dsp_provider prov;
    const char *name;
    if (lm && lm->model && dsp_parse_model(lm->model, &prov, &name, NULL) == DSP_OK && prov == DSP_PROVIDER_ANTHROPIC &&
        t > 1.0)
        return 1.0;
    return t;
}

dsp_status opt_exec_propose_copro(void *ctx, arena *a, const opt_copro_proposal *req, const char **instruction,
                                  dsp_error *err)
{
    opt_exec *x = ctx;
    const dsp_signature *sig = req->attempts ? &k_copro_next : &k_copro_first;
    const char *texts[3] = { req->basic_instruction, req->task_demos, req->attempts };
    dsp_value in[3];
    dsp_value out[1];
    memset(in, 0, sizeof in);
    memset(out, 0, sizeof out);
    dsp_status st = DSP_OK;
    for (size_t i = 0; i < sig->n_inputs && st == DSP_OK; i++)
        st = dsp_value_set_string(&in[i], texts[i] ? texts[i] : "", texts[i] ? strlen(texts[i]) : 0, err);
    if (st == DSP_OK) {
        dsp_predictor pred = { "optimizer.copro_propose", sig, DSP_STRATEGY_PREDICT, NULL, 0, x->teacher };
        dsp_predict_options po = dsp_predict_options_default();
        po.lm = x->teacher;
        po.has_temperature = true;
        po.temperature = teacher_temperature(x->teacher, req->temperature);
        po.rollout_id = req->rollout;
        st = dsp_predict_ex(ex_runner_client(x->runner), &pred, &po, in, out, NULL, err);
    }
    if (st == DSP_OK) {
        const char *s = out[0].as.s.data ? out[0].as.s.data : "";
        size_t len = out[0].as.s.len;
        /* DSPy strips surrounding quotes and blanks from proposals. */
        while (len && (s[len - 1] == '\n' || s[len - 1] == ' ' || s[len - 1] == '"'))
            len--;
        while (len && (*s == '\n' || *s == ' ' || *s == '"'))
            s++, len--;
        /* An empty proposal would silently mean "the default"; keep the
         * signature's instruction instead so the candidate stays valid. */
        *instruction = len ? arena_strndup(a, s, len) : arena_strdup(a, req->basic_instruction);
    }
    dsp_values_free(in, 3);
    dsp_values_free(out, 1);
    return st;
}
