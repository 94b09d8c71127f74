/* opt_exec_knn.c — knn_fewshot's and ensemble's parts of the backend: the
 * pool's vectors from the block's embedder, the runtime knn a candidate
 * runs with, an ensemble's runtime members, and the programs of the saved
 * states ensemble(states: ...) combines. */
#include "opt_exec.h"

#include "dsp/embed.h"
#include "state.h"

#include <stdio.h>
#include <stdlib.h>
#include <string.h>

int opt_exec_knn_dimensions(const ir_optimize *o)
{
    for (size_t i = 0; i < o->n_params; i++)
        if (strcmp(o->params[i].key, "dimensions") == 0)
            return (int)o->params[i].i;
    return 0;
}

dsp_status opt_exec_embed_demos(void *ctx, arena *a, size_t pred, const opt_demo *demos, size_t n, float **vectors,
                                size_t *dim, dsp_error *err)
{
    opt_exec *x = ctx;
    *vectors = NULL;
    *dim = 0;
    const dsp_predictor *rp = ex_runner_predictor(x->runner, x->preds[pred]);
    const dsp_lm_config *lm = ex_runner_lm(x->runner, x->o->embedder);
    if (!rp || !lm)
        return dsp_error_set(err, DSP_ERR_INVALID, "internal: no runtime predictor or embedder for %s",
                             x->b.pred_names[pred]);
    char **texts = calloc(n + 1, sizeof *texts);
    if (!texts)
        return dsp_error_set(err, DSP_ERR_NOMEM, "out of memory embedding the demo pool");
    dsp_status st = DSP_OK;
    for (size_t i = 0; i < n && st == DSP_OK; i++)
        if (!(texts[i] = dsp_knn_text(rp->signature, demos[i].inputs)))
            st = dsp_error_set(err, DSP_ERR_INVALID, "%s: training row %zu has no input text to embed",
                               x->b.pred_names[pred], demos[i].row + 1);
    dsp_embeddings e;
    memset(&e, 0, sizeof e);
    if (st == DSP_OK) {
        dsp_embed_options eo = { .dimensions = opt_exec_knn_dimensions(x->o), .bypass_cache = false,
                                 .label = x->b.pred_names[pred] };
        st = dsp_embed(ex_runner_client(x->runner), lm, (const char *const *)texts, n, &eo, &e, err);
    }
    for (size_t i = 0; i < n; i++)
        free(texts[i]);
    free(texts);
    if (st != DSP_OK) {
        char why[DSP_ERROR_MESSAGE_MAX];
        snprintf(why, sizeof why, "%s", err ? err->message : "failed");
        return dsp_error_set(err, st, "knn_fewshot: embedding the training examples of %s with lm `%s`: %s",
                             x->b.pred_names[pred], x->o->embedder->name, why);
    }
    float *v = arena_array(a, e.n * e.dim + 1, sizeof *v);
    memcpy(v, e.vectors, e.n * e.dim * sizeof *v);
    for (size_t i = 0; i < e.n; i++)
        dsp_knn_normalize(v + i * e.dim, e.dim);
    *vectors = v;
    *dim = e.dim;
    dsp_embeddings_free(&e);
    return DSP_OK;
}

const dsp_knn *opt_exec_knn(const opt_exec *x, arena *a, const opt_knn *kn)
{
    dsp_demo *pool = arena_array(a, kn->pool.n + 1, sizeof *pool);
    for (size_t i = 0; i < kn->pool.n; i++) {
        pool[i].input_texts = kn->pool.items[i].inputs;
        pool[i].output_texts = kn->pool.items[i].outputs;
    }
    return ex_knn_new(a, pool, kn->pool.n, kn->vectors, kn->dim, kn->k, ex_runner_lm(x->runner, x->o->embedder),
                      opt_exec_knn_dimensions(x->o));
}

const dsp_ensemble *opt_exec_ensemble(arena *a, const opt_ensemble *e)
{
    const char **ins = arena_array(a, e->n + 1, sizeof *ins);
    const dsp_demo **demos = arena_array(a, e->n + 1, sizeof *demos);
    size_t *n_demos = arena_array(a, e->n + 1, sizeof *n_demos);
    for (size_t m = 0; m < e->n; m++) {
        const opt_demos *d = &e->members[m].demos[e->pred];
        dsp_demo *dd = arena_array(a, d->n + 1, sizeof *dd);
        for (size_t i = 0; i < d->n; i++) {
            dd[i].input_texts = d->items[i].inputs;
            dd[i].output_texts = d->items[i].outputs;
        }
        ins[m] = e->members[m].instructions[e->pred];
        demos[m] = dd;
        n_demos[m] = d->n;
    }
    return ex_ensemble_new(a, e->n, ins, demos, n_demos, e->field, e->size, e->seed);
}

/* The names a state keys predictor sp's demo values by, against ip's. */
static int same_names(char *const *names, size_t n, const ir_field *fields, size_t n_fields)
{
    if (n != n_fields)
        return 0;
    for (size_t i = 0; i < n; i++)
        if (!names[i] || strcmp(names[i], fields[i].name) != 0)
            return 0;
    return 1;
}

static const char *const *copy_texts(arena *a, char *const *texts, size_t n)
{
    const char **out = arena_array(a, n + 1, sizeof *out);
    for (size_t i = 0; i < n; i++)
        out[i] = texts[i] ? arena_strdup(a, texts[i]) : NULL;
    return out;
}

/* Predictor sp of the state at path as member prompts: into prog's slot p. */
static dsp_status member_predictor(const opt_exec *x, arena *a, const char *path, const st_predictor *sp, size_t p,
                                   const char **ins, opt_demos *demos, dsp_error *err)
{
    const ir_predictor *ip = x->preds[p];
    const char *why = sp->knn_k > 0       ? "a knn_fewshot pool"
                      : sp->n_members     ? "an ensemble"
                      : sp->model         ? "a fine-tuned model"
                      : sp->adapter_path  ? "a LoRA adapter"
                      : sp->lm            ? "an lm of its own"
                                          : NULL;
    if (why)
        return dsp_error_set(err, DSP_ERR_INVALID,
                             "ensemble: states: %s: predictor `%s` has %s; a member is a prompt (instructions "
                             "and demos): use a state of labeled_fewshot, bootstrap_fewshot, random_search, mipro, "
                             "copro, gepa or simba",
                             path, sp->name, why);
    if (sp->n_demos && (!same_names(sp->input_names, sp->n_input_names, ip->signature->inputs,
                                    ip->signature->n_inputs) ||
                        !same_names(sp->output_names, sp->n_output_names, ip->outputs, ip->n_outputs)))
        return dsp_error_set(err, DSP_ERR_INVALID,
                             "ensemble: states: %s: predictor `%s`'s demos have other fields than the program's "
                             "(optimize that state again after changing the program)",
                             path, sp->name);
    ins[p] = sp->instructions ? arena_strdup(a, sp->instructions) : NULL;
    opt_demo *items = arena_array(a, sp->n_demos + 1, sizeof *items);
    for (size_t d = 0; d < sp->n_demos; d++)
        items[d] = (opt_demo){ copy_texts(a, sp->demos[d].inputs, sp->demos[d].n_inputs), sp->demos[d].n_inputs,
                               copy_texts(a, sp->demos[d].outputs, sp->demos[d].n_outputs), sp->demos[d].n_outputs,
                               d, 0 };
    demos[p] = (opt_demos){ items, sp->n_demos };
    return DSP_OK;
}

dsp_status opt_exec_state_program(void *ctx, arena *a, const char *path, opt_program *out, dsp_error *err)
{
    opt_exec *x = ctx;
    const char *dir = x->prog->base_dir;
    const char *full = !dir || !dir[0] || path[0] == '/'
                           ? path
                           : arena_printf(a, "%s%s%s", dir, dir[strlen(dir) - 1] == '/' ? "" : "/", path);
    st_state st;
    dsp_status rc = st_read_file(full, &st, err);
    if (rc != DSP_OK) {
        char why[DSP_ERROR_MESSAGE_MAX];
        snprintf(why, sizeof why, "%s", err ? err->message : "unreadable");
        return dsp_error_set(err, rc, "ensemble: states: %s", why);
    }
    *out = opt_program_zero_shot(&x->b, a);
    const char **ins = (const char **)out->instructions;
    opt_demos *demos = (opt_demos *)out->demos;
    for (size_t i = 0; rc == DSP_OK && i < st.n_predictors; i++) {
        const st_predictor *sp = &st.predictors[i];
        size_t p = 0;
        while (p < x->b.n_preds && strcmp(x->preds[p]->name, sp->name) != 0)
            p++;
        if (p == x->b.n_preds)
            rc = dsp_error_set(err, DSP_ERR_INVALID,
                               "ensemble: states: %s has predictor `%s`, which %s does not (a state of another "
                               "program?)",
                               path, sp->name, x->prog->source);
        else
            rc = member_predictor(x, a, path, sp, p, ins, demos, err);
    }
    st_free(&st);
    return rc;
}
