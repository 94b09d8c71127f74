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

static const dsp_field k_combine_in[] = {
    { "instruction_a", &dsp_type_string, "One instruction for the task." },
    { "instruction_b", &dsp_type_string, "Another instruction for the same task, learned from other examples." },
};
static const dsp_field k_combine_out[] = {
    { "combined_instruction", &dsp_type_string, "One instruction that keeps what both say." },
};

static const dsp_signature k_combine = {
    "CombineInstructions",
    "Two instructions for the same assistant were each improved from feedback on different examples, so each "
    "holds facts about the task the other lacks. Write one instruction that keeps every specific fact, rule and "
    "hint of both (once each); where they disagree, keep the first's.",
    k_combine_in, 2, k_combine_out, 1,
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
        for (size_t k = 0; k < req->runs[r].n_steps && shown < OPT_REFLECTION_SHOWN; k++) {
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
            /* The feedback the metric aims at this predictor, else the run's. */
            const opt_run *run = &req->runs[r];
            const char *fb = run->pred_feedback && run->pred_feedback[req->pred] ? run->pred_feedback[req->pred]
                                                                                : run->feedback;
            s = arena_printf(a, "%s## Feedback\n%s\n\n", s, fb ? fb : "(none)");
        }
    return s;
}

/* One string output of the teacher for sig given two string inputs (a
 * fence or blanks around it dropped); an empty reply gives fallback. */
static dsp_status teacher_text(opt_exec *x, arena *a, const char *name, const dsp_signature *sig,
                               const char *const texts[2], uint64_t rollout, const char *fallback,
                               const char **text, dsp_error *err)
{
    dsp_value in[2];
    dsp_value out[1];
    memset(in, 0, sizeof in);
    memset(out, 0, sizeof out);
    dsp_status st = DSP_OK;
    for (size_t i = 0; i < 2 && st == DSP_OK; i++)
        st = dsp_value_set_string(&in[i], texts[i], strlen(texts[i]), err);
    if (st == DSP_OK) {
        dsp_predictor pred = { name, sig, DSP_STRATEGY_PREDICT, NULL, 0, x->teacher };
        dsp_predict_options po = dsp_predict_options_default();
        po.lm = x->teacher;
        po.rollout_id = rollout;
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
        *text = len ? arena_strndup(a, s, len) : arena_strdup(a, fallback);
    }
    dsp_values_free(in, 2);
    dsp_values_free(out, 1);
    return st;
}

dsp_status opt_exec_combine(void *ctx, arena *a, const opt_combination *req, const char **instruction,
                            dsp_error *err)
{
    const char *texts[2] = { req->instruction_a, req->instruction_b };
    /* An empty reply keeps the better parent's instruction. */
    return teacher_text(ctx, a, "optimizer.gepa_combine", &k_combine, texts, req->rollout, req->instruction_a,
                        instruction, err);
}

dsp_status opt_exec_reflect(void *ctx, arena *a, const opt_reflection *req, const char **instruction,
                            dsp_error *err)
{
    opt_exec *x = ctx;
    const char *texts[2] = { req->current_instruction, examples_text(x, a, req) };
    /* An empty proposal keeps the current instruction (then rejected as a
     * repeat) rather than silently meaning the signature's. */
    return teacher_text(x, a, "optimizer.gepa_reflect", &k_reflect, texts, req->rollout, req->current_instruction,
                        instruction, err);
}
