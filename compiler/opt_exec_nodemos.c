/* opt_exec_nodemos.c — the note `dspcc optimize` prints for each predictor
 * an optimizer that builds demos gave none: labeled_fewshot,
 * bootstrap_fewshot and knn_fewshot (such a predictor runs as written),
 * and random_search, mipro and better_together with a prompt stage (they
 * choose among candidate demo sets, and the one that scored best may hold
 * none for it). Without the note the run looks as if it had given every
 * predictor demos. */
#include <stdio.h>
#include <string.h>

#include "opt_exec.h"

/* Whether any training row has field `name`. */
static int column_has_values(const opt_exec *x, const char *name)
{
    int f = ex_dataset_field(x->train, name);
    if (f < 0)
        return 0;
    for (size_t i = 0; i < x->b.n_train; i++)
        if (x->train->rows[x->train_rows[i]].present[f])
            return 1;
    return 0;
}

/* Why the trainset's own values make no demo of predictor pr, or NULL
 * when some row has its inputs and an output. */
static const char *data_reason(const opt_exec *x, arena *a, size_t pr, const char *file)
{
    const ir_predictor *p = x->preds[pr];
    const ir_signature *sig = p->signature;
    for (size_t i = 0; i < sig->n_inputs; i++)
        if (!column_has_values(x, sig->inputs[i].name))
            return arena_printf(a, "its input `%s` is not a column of %s", sig->inputs[i].name, file);
    const char *named = NULL;
    size_t n_named = 0;
    for (size_t i = 0; i < p->n_outputs; i++) {
        if (column_has_values(x, p->outputs[i].name))
            return NULL;
        if (strcmp(p->outputs[i].name, "reasoning") == 0 && p->n_outputs > 1)
            continue; /* chain_of_thought's own field: data never holds it */
        named = named ? arena_printf(a, "%s, `%s`", named, p->outputs[i].name)
                      : arena_printf(a, "`%s`", p->outputs[i].name);
        n_named++;
    }
    if (!named)
        return NULL;
    return arena_printf(a, "its output%s %s %s not a column of %s", n_named > 1 ? "s" : "", named,
                        n_named > 1 ? "are" : "is", file);
}

/* The note for an optimizer that chooses among candidate demo sets
 * (random_search, mipro, better_together's prompt stages). */
static void note_search(const opt_exec *x, const opt_params *params, const opt_program *prog, arena *a,
                        const char *file)
{
    const char *name = params->optimizer;
    for (size_t pr = 0; pr < x->b.n_preds; pr++) {
        if (prog->demos[pr].n)
            continue;
        const char *data = data_reason(x, a, pr, file);
        const char *why;
        if (params->max_labeled_demos <= 0 && params->max_bootstrapped_demos <= 0)
            why = "max_labeled_demos and max_bootstrapped_demos are 0";
        else if (data)
            why = arena_printf(a, "%s, and the candidate that scored best on %s has no demo from a trace for it",
                               data, x->b.valset_name);
        else
            why = arena_printf(a, "the candidate that scored best on %s has none for it", x->b.valset_name);
        fprintf(stderr, "dspcc optimize: note: %s: predictor `%s` got no demos: %s; it runs with its instruction alone\n",
                name, x->b.pred_names[pr], why);
    }
}

void opt_exec_note_no_demos(const opt_exec *x, const opt_params *params, const opt_program *prog, arena *a)
{
    const char *name = params->optimizer;
    int labeled = strcmp(name, "labeled_fewshot") == 0, boot = strcmp(name, "bootstrap_fewshot") == 0;
    int knn = strcmp(name, "knn_fewshot") == 0;
    const char *file = strrchr(x->train->path, '/') ? strrchr(x->train->path, '/') + 1 : x->train->path;
    /* better_together without a p stage only fine-tunes: it builds no demos. */
    int search = strcmp(name, "random_search") == 0 || strcmp(name, "mipro") == 0 ||
                 (strcmp(name, "better_together") == 0 && strchr(params->strategy ? params->strategy : "p", 'p'));
    if (search) {
        note_search(x, params, prog, a, file);
        return;
    }
    if (!labeled && !boot && !knn)
        return;
    int traces = boot || (knn && params->knn_bootstrap);
    for (size_t pr = 0; pr < x->b.n_preds; pr++) {
        size_t n = knn ? (prog->knn ? prog->knn[pr].pool.n : 0) : prog->demos[pr].n;
        if (n)
            continue;
        const char *why = data_reason(x, a, pr, file);
        int limit = labeled ? params->k : params->max_labeled_demos;
        if (!why && !knn && limit <= 0)
            why = arena_printf(a, "%s is %d", labeled ? "k" : "max_labeled_demos", limit);
        else if (!why)
            why = "no training row it drew has its inputs and one of its outputs";
        const char *hint = labeled ? "; bootstrap_fewshot builds demos from traces"
                           : !traces ? "; knn_fewshot(bootstrap: true) builds demos from traces"
                           : boot && params->max_bootstrapped_demos <= 0
                               ? "; max_bootstrapped_demos is 0, so no trace gave one either"
                               : "; no teacher run that called it passed the metric, so no trace gave one either";
        fprintf(stderr, "dspcc optimize: note: %s: predictor `%s` got no demos: %s%s; it runs as written\n", name,
                x->b.pred_names[pr], why, hint);
    }
}
