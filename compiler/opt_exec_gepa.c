/* opt_exec_gepa.c — GEPA's reflection on the interpreter's client
 * (opt_backend.reflect, see opt_gepa.c).
 *
 * The reflection LM (the optimize block's teacher) gets one predictor's
 * current instruction and, for each of its calls on the minibatch, the
 * inputs and outputs as the chat adapter wrote them with the run's
 * feedback, as markdown sections (`# Example 1`, `## Inputs`, `### field`,
 * `## Outputs`, `## Feedback`). The call goes through dsp_predict_ex with
 * the chat adapter like every other call, so it is cached and replayed.
 * The output field `new_instruction` is what the reference server (a test
 * fixture) keys on.
 */
#include <string.h>

#include "opt_exec.h"

enum { MAX_SHOWN = 16 };

static const dsp_field k_reflect_in[] = {
    { "current_instruction", &dsp_type_string, "The instruction the assistant was given." },
    { "examples_with_feedback", &dsp_type_string,
      "Inputs the assistant received, its outputs, and feedback on each output." },
};
static const dsp_field k_reflect_out[] = {
    { "new_instruction", &dsp_type_string, "The improved instruction for the assistant." },
};

static const dsp_signature k_reflect = {
    "ReflectOnFeedback",
    "I gave an assistant the instruction below for a task, and it produced the outputs shown for the inputs "
    "shown; each example carries feedback on the output. Write a new instruction for the assistant. Work out the "
    "task and the format of its inputs from the examples; learn from the feedback what the assistant got wrong "
    "and what it got right; and put every specific, domain-dependent fact the feedback reveals into the "
    "instruction (for a classification, the cues in the input that point to each label it confused), because the "
    "assistant will not see these examples again. Keep what the current instruction says that still holds.",
    k_reflect_in, 2, k_reflect_out, 1,
};

static char *section(arena *a, char *s, const char *head, const ir_field *fields, size_t n_fields,
                     const char *const *texts, size_t n, size_t skip)
{
    s = arena_printf(a, "%s## %s\n", s, head);
    for (size_t i = 0; i < n; i++) {
        const char *name = i < skip ? "reasoning" : i - skip < n_fields ? fields[i - skip].name : "output";
        s = arena_printf(a, "%s### %s\n%s\n", s, name, texts[i] ? texts[i] : "(none)");
    }
    return s;
}

static const char *examples_text(const opt_exec *x, arena *a, const opt_reflection *req)
{
    const ir_predictor *p = x->preds[req->pred];
    char *s = "";
    size_t shown = 0;
    for (size_t r = 0; r < req->n_runs; r++)
        for (size_t k = 0; k < req->runs[r].n_steps && shown < MAX_SHOWN; k++) {
            const opt_step *st = &req->runs[r].steps[k];
            if (st->pred != req->pred)
                continue;
            shown++;
            /* A chain of thought's reasoning comes first among the outputs. */
            size_t skip = st->demo.n_outputs > p->n_outputs ? st->demo.n_outputs - p->n_outputs : 0;
            s = arena_printf(a, "%s# Example %zu\n", s, shown);
            s = section(a, s, "Inputs", p->signature->inputs, p->signature->n_inputs, st->demo.inputs,
                        st->demo.n_inputs, 0);
            s = section(a, s, "Outputs", p->outputs, p->n_outputs, st->demo.outputs, st->demo.n_outputs, skip);
            s = arena_printf(a, "%s## Feedback\n%s\n\n", s,
                             req->runs[r].feedback ? req->runs[r].feedback : "(none)");
        }
    return s;
}

dsp_status opt_exec_reflect(void *ctx, arena *a, const opt_reflection *req, const char **instruction,
                            dsp_error *err)
{
    opt_exec *x = ctx;
    const char *texts[2] = { req->current_instruction, examples_text(x, a, req) };
    dsp_value in[2];
    dsp_value out[1];
    memset(in, 0, sizeof in);
    memset(out, 0, sizeof out);
    dsp_status st = DSP_OK;
    for (size_t i = 0; i < 2 && st == DSP_OK; i++)
        st = dsp_value_set_string(&in[i], texts[i], strlen(texts[i]), err);
    if (st == DSP_OK) {
        dsp_predictor pred = { "optimizer.gepa_reflect", &k_reflect, DSP_STRATEGY_PREDICT, NULL, 0, x->teacher };
        dsp_predict_options po = dsp_predict_options_default();
        po.lm = x->teacher;
        po.rollout_id = req->rollout;
        st = dsp_predict_ex(ex_runner_client(x->runner), &pred, &po, in, out, NULL, err);
    }
    if (st == DSP_OK) {
        const char *s = out[0].as.s.data ? out[0].as.s.data : "";
        size_t len = out[0].as.s.len;
        /* Surrounding blanks and a fence the LM may wrap the text in. */
        while (len && (s[len - 1] == '\n' || s[len - 1] == ' ' || s[len - 1] == '`'))
            len--;
        while (len && (*s == '\n' || *s == ' ' || *s == '`'))
            s++, len--;
        /* An empty proposal keeps the current instruction (then rejected as
         * a repeat) rather than silently meaning the signature's. */
        *instruction = len ? arena_strndup(a, s, len) : arena_strdup(a, req->current_instruction);
    }
    dsp_values_free(in, 2);
    dsp_values_free(out, 1);
    return st;
}
