/* interp_runner.c — the runner (the program's runtime descriptors, the
 * client, the lm and the metric) and program configurations. */
#include "interp_int.h"
#include "ir_runtime.h"

#include <stdlib.h>
#include <string.h>

ex_runner_options ex_runner_options_default(void)
{
    ex_runner_options o;
    memset(&o, 0, sizeof o);
    return o;
}

ex_eval_options ex_eval_options_default(void)
{
    ex_eval_options o;
    memset(&o, 0, sizeof o);
    o.concurrency = 8;
    return o;
}

const dsp_lm_config *it_lm_of(const ex_runner *r, const ir_lm *lm)
{
    for (size_t i = 0; i < r->n_lms; i++)
        if (r->lms[i] == lm)
            return r->rt_lms[i];
    return NULL;
}

const dsp_lm_config *ex_runner_lm(const ex_runner *r, const ir_lm *lm)
{
    return it_lm_of(r, lm);
}

const it_judge *it_judge_of(const ex_runner *r, const ir_expr *e)
{
    for (size_t i = 0; i < r->n_judges; i++)
        if (r->judges[i].expr == e)
            return &r->judges[i];
    return NULL;
}

static int count_judge(void *ctx, const ir_expr *e)
{
    (void)e;
    ++*(size_t *)ctx;
    return 0;
}

typedef struct judge_build {
    ex_runner *r;
    dsp_error *err;
} judge_build;

/* The predictor judge e runs; its status (nonzero stops the walk). */
static int build_judge(void *ctx, const ir_expr *e)
{
    judge_build *b = ctx;
    ex_runner *r = b->r;
    const dsp_lm_config *lm = e->judge_lm ? it_lm_of(r, e->judge_lm) : r->judge_lm;
    ir_predictor ip = { .name = "judge", .module = "metric", .strategy = "predict", .signature = e->judge,
                        .outputs = e->judge->outputs, .n_outputs = e->judge->n_outputs };
    dsp_predictor *p;
    dsp_status rc = irt_predictor(&r->mem, &ip, lm, &p, b->err);
    if (rc != DSP_OK)
        return (int)rc;
    p->name = arena_printf(&r->mem, "judge(%s)", e->judge->name);
    r->judges[r->n_judges].expr = e;
    r->judges[r->n_judges].pred = p;
    r->n_judges++;
    return 0;
}

dsp_status ex_runner_new(const ir_program *p, const ir_module *m, const ex_runner_options *opts, ex_runner **out,
                         dsp_error *err)
{
    *out = NULL;
    if (!opts || !opts->client || (!opts->lm && ir_module_first_predictor(m)))
        return dsp_error_set(err, DSP_ERR_INVALID, "running module `%s` needs a client and an lm", m->name);
    ex_runner *r = calloc(1, sizeof *r);
    if (!r)
        return dsp_error_set(err, DSP_ERR_NOMEM, "out of memory");
    arena_init(&r->mem);
    it_tools_init(&r->tools);
    r->prog = p;
    r->module = m;
    r->client = opts->client;
    r->metric = opts->metric;
    r->bypass_cache = opts->bypass_cache;
    dsp_status rc = DSP_OK;

    /* Every lm of the program, plus the runner's if it is not declared. */
    r->lms = arena_array(&r->mem, p->n_lms + 2, sizeof *r->lms);
    r->rt_lms = arena_array(&r->mem, p->n_lms + 2, sizeof *r->rt_lms);
    for (size_t i = 0; i < p->n_lms && rc == DSP_OK; i++) {
        r->lms[r->n_lms] = p->lms[i];
        rc = irt_lm(&r->mem, p->lms[i], &r->rt_lms[r->n_lms], err);
        r->n_lms++;
    }
    const ir_lm *extra[2] = { opts->lm, opts->judge_lm };
    for (size_t k = 0; k < 2 && rc == DSP_OK; k++)
        if (extra[k] && !it_lm_of(r, extra[k])) {
            r->lms[r->n_lms] = extra[k];
            rc = irt_lm(&r->mem, extra[k], &r->rt_lms[r->n_lms], err);
            r->n_lms++;
        }
    if (rc == DSP_OK) {
        r->lm = it_lm_of(r, opts->lm);
        r->judge_lm = opts->judge_lm ? it_lm_of(r, opts->judge_lm) : r->lm;
    }

    size_t n = 0;
    for (size_t i = 0; i < p->n_modules; i++)
        n += p->modules[i]->n_predictors;
    r->preds = arena_array(&r->mem, n + 1, sizeof *r->preds);
    r->rt_preds = arena_array(&r->mem, n + 1, sizeof *r->rt_preds);
    for (size_t i = 0; i < p->n_modules && rc == DSP_OK; i++)
        for (size_t j = 0; j < p->modules[i]->n_predictors && rc == DSP_OK; j++) {
            const ir_predictor *ip = p->modules[i]->predictors[j];
            r->preds[r->n_preds] = ip;
            rc = irt_predictor(&r->mem, ip, r->lm, &r->rt_preds[r->n_preds], err);
            r->n_preds++;
        }

    if (rc == DSP_OK)
        rc = it_react_build(r, err);
    if (rc == DSP_OK && r->metric) {
        /* The score's judges, then those of the feedback arms. */
        size_t n = 0;
        ir_metric_judges(r->metric, count_judge, &n);
        r->judges = arena_array(&r->mem, n + 1, sizeof *r->judges);
        judge_build b = { r, err };
        rc = (dsp_status)ir_metric_judges(r->metric, build_judge, &b);
    }
    if (rc != DSP_OK) {
        ex_runner_free(r);
        return rc;
    }
    *out = r;
    return DSP_OK;
}

void ex_runner_free(ex_runner *r)
{
    if (!r)
        return;
    it_tools_free(&r->tools);
    arena_free(&r->mem);
    free(r);
}

dsp_client *ex_runner_client(const ex_runner *r) { return r->client; }

const dsp_predictor *ex_runner_predictor(const ex_runner *r, const ir_predictor *p)
{
    for (size_t i = 0; i < r->n_preds; i++)
        if (r->preds[i] == p)
            return r->rt_preds[i];
    return NULL;
}

/* ---- configurations ---- */

dsp_status ex_config_init(const ex_runner *r, ex_config *cfg, dsp_error *err)
{
    memset(cfg, 0, sizeof *cfg);
    arena_init(&cfg->mem);
    cfg->preds = calloc(r->n_preds + 1, sizeof *cfg->preds);
    if (!cfg->preds)
        return dsp_error_set(err, DSP_ERR_NOMEM, "out of memory");
    cfg->n_preds = r->n_preds;
    for (size_t i = 0; i < r->n_preds; i++)
        cfg->preds[i].predictor = r->preds[i];
    return DSP_OK;
}

void ex_config_free(ex_config *cfg)
{
    if (!cfg)
        return;
    free(cfg->preds);
    arena_free(&cfg->mem);
    memset(cfg, 0, sizeof *cfg);
}

ex_pred_config *ex_config_find(ex_config *cfg, const char *name)
{
    for (size_t i = 0; i < cfg->n_preds; i++)
        if (strcmp(cfg->preds[i].predictor->name, name) == 0)
            return &cfg->preds[i];
    return NULL;
}

const ex_pred_config *ex_config_get(const ex_config *cfg, const ir_predictor *p)
{
    for (size_t i = 0; cfg && i < cfg->n_preds; i++)
        if (cfg->preds[i].predictor == p)
            return &cfg->preds[i];
    return NULL;
}

static const char *const *copy_texts(arena *a, char *const *texts, size_t n)
{
    const char **out = arena_array(a, n + 1, sizeof *out);
    for (size_t i = 0; i < n; i++)
        out[i] = texts[i] ? arena_strdup(a, texts[i]) : NULL;
    return out;
}

static const ir_lm *find_lm(const ir_program *p, const char *name)
{
    for (size_t i = 0; i < p->n_lms; i++)
        if (strcmp(p->lms[i]->name, name) == 0)
            return p->lms[i];
    return NULL;
}

const dsp_knn *ex_knn_new(arena *a, const dsp_demo *pool, size_t n_pool, const float *vectors, size_t dim, size_t k,
                          const dsp_lm_config *embedder, int dimensions)
{
    dsp_knn *knn = arena_alloc(a, sizeof *knn);
    *knn = (dsp_knn){ embedder, dimensions, k, dim, vectors, pool, n_pool };
    return knn;
}

const dsp_ensemble *ex_ensemble_new(arena *a, size_t n, const char *const *instructions,
                                    const dsp_demo *const *demos, const size_t *n_demos, size_t field, size_t size,
                                    uint64_t seed)
{
    dsp_predict_options *members = arena_array(a, n + 1, sizeof *members);
    for (size_t i = 0; i < n; i++) {
        members[i] = dsp_predict_options_default();
        members[i].instructions = instructions[i];
        members[i].override_demos = true;
        members[i].demos = demos[i];
        members[i].n_demos = n_demos[i];
    }
    dsp_ensemble *e = arena_alloc(a, sizeof *e);
    *e = (dsp_ensemble){ .members = members, .n = n, .field = field, .size = size, .seed = seed };
    return e;
}

static dsp_demo *demos_of(arena *a, const st_demo *sd, size_t n)
{
    dsp_demo *demos = arena_array(a, n + 1, sizeof *demos);
    for (size_t d = 0; d < n; d++) {
        demos[d].input_texts = copy_texts(a, sd[d].inputs, sd[d].n_inputs);
        demos[d].output_texts = copy_texts(a, sd[d].outputs, sd[d].n_outputs);
    }
    return demos;
}

/* The state's ensemble of predictor ip, in cfg->mem. */
static dsp_status apply_ensemble(ex_config *cfg, const ir_predictor *ip, const st_predictor *sp, dsp_error *err)
{
    size_t field = ip->n_outputs;
    for (size_t k = 0; k < ip->n_outputs; k++)
        if (strcmp(ip->outputs[k].name, sp->ensemble_field) == 0)
            field = k;
    if (field == ip->n_outputs)
        return dsp_error_set(err, DSP_ERR_INVALID, "predictor `%s`: the state's ensemble votes on `%s`, which it "
                             "does not produce (re-optimize after changing the program)", sp->name,
                             sp->ensemble_field);
    size_t n = sp->n_members;
    const char **ins = arena_array(&cfg->mem, n + 1, sizeof *ins);
    const dsp_demo **demos = arena_array(&cfg->mem, n + 1, sizeof *demos);
    size_t *n_demos = arena_array(&cfg->mem, n + 1, sizeof *n_demos);
    for (size_t m = 0; m < n; m++) {
        const st_member *mb = &sp->members[m];
        for (size_t d = 0; d < mb->n_demos; d++)
            if (mb->demos[d].n_inputs != ip->signature->n_inputs || mb->demos[d].n_outputs != ip->n_outputs)
                return dsp_error_set(err, DSP_ERR_INVALID, "predictor `%s`, ensemble member %zu, demo %zu: the "
                                     "wrong number of fields (re-optimize after changing the program)", sp->name,
                                     m + 1, d + 1);
        ins[m] = mb->instructions ? arena_strdup(&cfg->mem, mb->instructions) : NULL;
        demos[m] = demos_of(&cfg->mem, mb->demos, mb->n_demos);
        n_demos[m] = mb->n_demos;
    }
    ex_pred_config *pc = ex_config_find(cfg, sp->name);
    pc->ensemble = ex_ensemble_new(&cfg->mem, n, ins, demos, n_demos, field, (size_t)sp->ensemble_size,
                                   (uint64_t)sp->ensemble_seed);
    return DSP_OK;
}

dsp_status ex_config_apply_state(const ex_runner *r, ex_config *cfg, const st_state *s, dsp_error *err)
{
    for (size_t i = 0; i < s->n_predictors; i++) {
        const st_predictor *sp = &s->predictors[i];
        ex_pred_config *pc = ex_config_find(cfg, sp->name);
        if (!pc)
            return dsp_error_set(err, DSP_ERR_INVALID, "the state has predictor `%s`, which the program does not "
                                 "(re-optimize after changing the program)", sp->name);
        const ir_predictor *ip = pc->predictor;
        if (sp->instructions)
            pc->instructions = arena_strdup(&cfg->mem, sp->instructions);
        /* Demo values are placed by position; the names say which field
         * each position was when the state was written. */
        if (sp->n_input_names && (sp->n_input_names != ip->signature->n_inputs ||
                                  sp->n_output_names != ip->n_outputs))
            return dsp_error_set(err, DSP_ERR_INVALID, "predictor `%s`: the state's demos have %zu inputs and %zu "
                                 "outputs, but the program has %zu and %zu (re-optimize after changing the program)",
                                 sp->name, sp->n_input_names, sp->n_output_names, ip->signature->n_inputs,
                                 ip->n_outputs);
        for (size_t k = 0; k < sp->n_input_names; k++)
            if (strcmp(sp->input_names[k], ip->signature->inputs[k].name) != 0)
                return dsp_error_set(err, DSP_ERR_INVALID, "predictor `%s`: the state's demos have input `%s` where "
                                     "the program has `%s`", sp->name, sp->input_names[k],
                                     ip->signature->inputs[k].name);
        for (size_t k = 0; k < sp->n_output_names; k++)
            if (strcmp(sp->output_names[k], ip->outputs[k].name) != 0)
                return dsp_error_set(err, DSP_ERR_INVALID, "predictor `%s`: the state's demos have output `%s` where "
                                     "the program has `%s`", sp->name, sp->output_names[k], ip->outputs[k].name);
        dsp_demo *demos = arena_array(&cfg->mem, sp->n_demos + 1, sizeof *demos);
        for (size_t d = 0; d < sp->n_demos; d++) {
            const st_demo *sd = &sp->demos[d];
            if (sd->n_inputs != ip->signature->n_inputs || sd->n_outputs != ip->n_outputs)
                return dsp_error_set(err, DSP_ERR_INVALID, "predictor `%s`, demo %zu: %zu inputs and %zu outputs, "
                                     "but the signature has %zu and %zu", sp->name, d + 1, sd->n_inputs,
                                     sd->n_outputs, ip->signature->n_inputs, ip->n_outputs);
            demos[d].input_texts = copy_texts(&cfg->mem, sd->inputs, sd->n_inputs);
            demos[d].output_texts = copy_texts(&cfg->mem, sd->outputs, sd->n_outputs);
        }
        pc->override_demos = true;
        pc->demos = demos;
        pc->n_demos = sp->n_demos;
        if (sp->knn_k > 0) {
            /* The demos are knn_fewshot's pool: each call chooses its own. */
            const ir_lm *el = find_lm(r->prog, sp->knn_embedder);
            if (!el)
                return dsp_error_set(err, DSP_ERR_INVALID, "predictor `%s` embeds its inputs with lm `%s`, which the "
                                     "program does not declare", sp->name, sp->knn_embedder);
            float *vectors = arena_array(&cfg->mem, sp->n_demos * sp->knn_dim, sizeof *vectors);
            memcpy(vectors, sp->knn_vectors, sp->n_demos * sp->knn_dim * sizeof *vectors);
            pc->knn = ex_knn_new(&cfg->mem, demos, sp->n_demos, vectors, sp->knn_dim, (size_t)sp->knn_k,
                                 it_lm_of(r, el), sp->knn_dimensions);
            pc->override_demos = false;
            pc->demos = NULL;
            pc->n_demos = 0;
        }
        if (sp->n_members) {
            dsp_status est = apply_ensemble(cfg, ip, sp, err);
            if (est != DSP_OK)
                return est;
        }
        const ir_lm *lm = NULL;
        if (sp->lm) {
            lm = find_lm(r->prog, sp->lm);
            if (!lm)
                return dsp_error_set(err, DSP_ERR_INVALID, "predictor `%s` runs on lm `%s`, which the program does "
                                     "not declare", sp->name, sp->lm);
            pc->lm = it_lm_of(r, lm);
        }
        if (sp->model) {
            const dsp_lm_config *base = pc->lm ? pc->lm : r->lm;
            if (!base)
                return dsp_error_set(err, DSP_ERR_INVALID, "predictor `%s` runs on model `%s`, but the program "
                                     "declares no lm to run it on", sp->name, sp->model);
            dsp_lm_config *c = arena_alloc(&cfg->mem, sizeof *c);
            *c = *base;
            const char *slash = strchr(base->model, '/');
            int plen = slash ? (int)(slash - base->model) : 0;
            c->model = arena_printf(&cfg->mem, "%.*s/%s", plen, base->model, sp->model);
            pc->lm = c;
        }
        /* llama.cpp selects a LoRA adapter per request (vLLM's is the
         * model, above). */
        const ir_lm *il = lm;
        for (size_t i = 0; !il && i < r->n_lms; i++)
            if (r->rt_lms[i] == r->lm)
                il = r->lms[i];
        if (sp->adapter_sha256 && il && irt_lm_llama_cpp(il))
            pc->lm = irt_lm_with_adapter(&cfg->mem, il, pc->lm ? pc->lm : r->lm, sp->adapter_name,
                                         sp->adapter_sha256);
    }
    return DSP_OK;
}

dsp_predict_options it_predict_options(const ex_runner *r, const ex_config *cfg, const ir_predictor *ip)
{
    dsp_predict_options o = dsp_predict_options_default();
    if (ip->adapter)
        o.adapter = strcmp(ip->adapter, "json") == 0 ? DSP_ADAPTER_JSON : DSP_ADAPTER_CHAT;
    /* The call's `temperature:` (generated code bakes it into the
     * predictor's lm); an optimizer's own sampling temperature wins. */
    o.has_temperature = ip->has_temperature != 0;
    o.temperature = ip->temperature;
    const ex_pred_config *pc = cfg ? ex_config_get(cfg, ip) : NULL;
    if (pc) {
        o.instructions = pc->instructions;
        o.override_demos = pc->override_demos;
        o.demos = pc->demos;
        o.n_demos = pc->n_demos;
        o.lm = pc->lm;
        if (pc->has_temperature) {
            o.has_temperature = true;
            o.temperature = pc->temperature;
        }
        o.rollout_id = pc->rollout_id;
        o.knn = pc->knn;
    }
    o.bypass_cache = r->bypass_cache;
    return o;
}
