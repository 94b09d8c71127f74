/* cg_tables.c — every predictor of the program as static const libdsprt
 * tables: types, fields, a signature carrying the (optimized)
 * instructions, demos, the LM config and the dsp_predictor itself. The
 * same descriptors the interpreter builds at run time (ir_runtime.c), so
 * the generated program sends exactly the prompts the optimizer measured. */
#include <stdint.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include "cg.h"
#include "ir_runtime.h"

/* ---- which modules and predictors ---------------------------------- */

/* A module's place in the program's list, found by address. */
typedef struct mod_slot {
    const ir_module *m;
    size_t k;
} mod_slot;

static int mod_slot_cmp(const void *a, const void *b)
{
    uintptr_t x = (uintptr_t)((const mod_slot *)a)->m, y = (uintptr_t)((const mod_slot *)b)->m;
    return x < y ? -1 : x > y;
}

static void mark_steps(const mod_slot *slots, size_t n_slots, const ir_step *s, size_t n, unsigned char *used)
{
    for (size_t i = 0; i < n; i++) {
        if (s[i].kind == IR_STEP_MODULE) {
            mod_slot key = { s[i].module, 0 };
            const mod_slot *hit = bsearch(&key, slots, n_slots, sizeof *slots, mod_slot_cmp);
            if (hit && !used[hit->k]) {
                used[hit->k] = 1;
                mark_steps(slots, n_slots, s[i].module->steps, s[i].module->n_steps, used);
            }
        }
        mark_steps(slots, n_slots, s[i].body, s[i].n_body, used);
        mark_steps(slots, n_slots, s[i].else_body, s[i].n_else, used);
    }
}

size_t cg_modules(cg_ctx *g, const ir_module ***out)
{
    if (g->mods) {
        *out = g->mods;
        return g->n_mods;
    }
    const ir_program *p = g->in->prog;
    unsigned char *used = arena_array(g->a, p->n_modules + 1, 1);
    const ir_module **list = arena_array(g->a, p->n_modules + 1, sizeof *list);
    mod_slot *slots = arena_array(g->a, p->n_modules + 1, sizeof *slots);
    for (size_t k = 0; k < p->n_modules; k++) slots[k] = (mod_slot){ p->modules[k], k };
    qsort(slots, p->n_modules, sizeof *slots, mod_slot_cmp);
    mark_steps(slots, p->n_modules, g->in->module->steps, g->in->module->n_steps, used);
    size_t n = 0;
    for (size_t k = 0; k < p->n_modules; k++)
        if (used[k] && p->modules[k] != g->in->module) list[n++] = p->modules[k];
    list[n++] = g->in->module;
    g->mods = list;
    g->n_mods = n;
    *out = list;
    return n;
}

/* A predictor's name and its table index (k_pN). */
typedef struct cg_pred_index {
    const char *name;
    size_t idx;
} cg_pred_index;

static int pred_index_cmp(const void *a, const void *b)
{
    const cg_pred_index *x = a, *y = b;
    int c = strcmp(x->name, y->name);
    return c ? c : (x->idx > y->idx) - (x->idx < y->idx);
}

/* A predictor is the first of the program's predictors with its name
 * (the same object has the same name). */
const char *cg_predictor_sym(cg_ctx *g, const ir_predictor *pr)
{
    if (!g->pred_index) {
        const ir_module **mods;
        size_t nm = cg_modules(g, &mods), n = 0;
        for (size_t i = 0; i < nm; i++) n += mods[i]->n_predictors;
        cg_pred_index *ix = arena_array(g->a, n + 1, sizeof *ix);
        n = 0;
        for (size_t i = 0; i < nm; i++)
            for (size_t k = 0; k < mods[i]->n_predictors; k++, n++) ix[n] = (cg_pred_index){ mods[i]->predictors[k]->name, n };
        qsort(ix, n, sizeof *ix, pred_index_cmp);
        g->pred_index = ix;
        g->n_pred_index = n;
    }
    size_t lo = 0, hi = g->n_pred_index;
    while (lo < hi) { /* the first entry not below pr->name */
        size_t mid = lo + (hi - lo) / 2;
        if (strcmp(g->pred_index[mid].name, pr->name) < 0) lo = mid + 1;
        else hi = mid;
    }
    if (lo < g->n_pred_index && strcmp(g->pred_index[lo].name, pr->name) == 0)
        return arena_printf(g->a, "k_p%zu", g->pred_index[lo].idx);
    return "k_p_unknown";
}

/* ---- runtime types -------------------------------------------------- */

typedef struct rt_types {
    const ir_type **t;
    const char **sym;
    size_t n, cap;
} rt_types;

static const char *emit_fields(cg_ctx *g, strbuf *c, rt_types *rt, const char *sym, const ir_field *f, size_t n);

static const char *rt_type(cg_ctx *g, strbuf *c, rt_types *rt, const ir_type *t)
{
    switch (t->kind) {
    case IR_STRING: return "&dsp_type_string";
    case IR_INT: return "&dsp_type_int";
    case IR_FLOAT: return "&dsp_type_float";
    case IR_BOOL: return "&dsp_type_bool";
    default: break;
    }
    for (size_t i = 0; i < rt->n; i++)
        if (rt->t[i] == t || ir_type_equal(rt->t[i], t)) return rt->sym[i];
    const char *elem = NULL, *fields = NULL;
    if (t->kind == IR_RECORD) {
        fields = emit_fields(g, c, rt, arena_printf(g->a, "k_record_%s_fields", cg_snake(g->a, t->name)), t->fields,
                             t->n_fields);
    } else if (t->kind != IR_ENUM) {
        elem = rt_type(g, c, rt, t->elem);
    }
    if (rt->n == rt->cap) {
        size_t cap = rt->cap ? rt->cap * 2 : 8;
        const ir_type **nt = arena_array(g->a, cap, sizeof *nt);
        const char **ns = arena_array(g->a, cap, sizeof *ns);
        if (rt->n) {
            memcpy(nt, rt->t, rt->n * sizeof *nt);
            memcpy(ns, rt->sym, rt->n * sizeof *ns);
        }
        rt->t = nt;
        rt->sym = ns;
        rt->cap = cap;
    }
    size_t id = rt->n++;
    const char *sym = arena_printf(g->a, "k_type%zu", id);
    rt->t[id] = t;
    rt->sym[id] = arena_printf(g->a, "&%s", sym);
    char buf[256];
    sb_printf(c, "/* %s */\n", ir_type_str(t, buf, sizeof buf));
    if (t->kind == IR_ENUM) {
        sb_printf(c, "static const char *const %s_values[%zu] = {", sym, t->n_values);
        for (size_t k = 0; k < t->n_values; k++) {
            sb_puts(c, k ? ", " : " ");
            cg_cstr(g, c, t->values[k], strlen(t->values[k]), 4);
        }
        sb_printf(c, " };\nstatic const dsp_type %s = { .kind = DSP_TYPE_ENUM, .enum_values = %s_values, "
                      ".n_enum_values = %zu", sym, sym, t->n_values);
        if (t->name) {
            sb_puts(c, ", .name = ");
            cg_cstr(g, c, t->name, strlen(t->name), 4);
        }
        sb_puts(c, " };\n\n");
    } else if (t->kind == IR_RECORD) {
        sb_printf(c, "static const dsp_type %s = { .kind = DSP_TYPE_RECORD, .fields = %s, .n_fields = %zu, .name = ",
                   sym, fields, t->n_fields);
        cg_cstr(g, c, t->name, strlen(t->name), 4);
        sb_puts(c, " };\n\n");
    } else {
        sb_printf(c, "static const dsp_type %s = { .kind = %s, .elem = %s };\n\n", sym,
                   t->kind == IR_LIST ? "DSP_TYPE_LIST" : t->kind == IR_MAP ? "DSP_TYPE_MAP" : "DSP_TYPE_OPTIONAL",
                   elem);
    }
    return rt->sym[id];
}

/* Returns the table's symbol: sym, or an equal table's (cg_share.c). */
static const char *emit_fields(cg_ctx *g, strbuf *c, rt_types *rt, const char *sym, const ir_field *f, size_t n)
{
    if (!n) return NULL;
    const char **types = arena_array(g->a, n, sizeof *types);
    for (size_t i = 0; i < n; i++) types[i] = rt_type(g, c, rt, f[i].type);
    strbuf b = {0};
    sb_printf(&b, "[%zu] = {\n", n);
    for (size_t i = 0; i < n; i++) {
        sb_puts(&b, "    { ");
        cg_cstr(g, &b, f[i].name, strlen(f[i].name), 6);
        sb_printf(&b, ", %s, ", types[i]);
        cg_cstr_or_null(g, &b, f[i].desc, 6);
        sb_puts(&b, " },\n");
    }
    sb_puts(&b, "};\n");
    return cg_share_emit(g, c, "", "dsp_field", sym, &b);
}

const char *cg_emit_field_table(cg_ctx *g, strbuf *c, const char *sym, const ir_field *f, size_t n)
{
    return emit_fields(g, c, g->rt, sym, f, n);
}

const char *cg_rt_type(cg_ctx *g, strbuf *c, const ir_type *t)
{
    return rt_type(g, c, g->rt, t);
}

/* ---- LMs ------------------------------------------------------------- */

static const ir_optimize *optimize_of(const cg_input *in)
{
    for (size_t i = 0; i < in->prog->n_optimizes; i++)
        if (in->prog->optimizes[i]->module == in->module) return in->prog->optimizes[i];
    return in->prog->n_optimizes ? in->prog->optimizes[0] : NULL;
}

static const ir_lm *lm_of(cg_ctx *g, const st_predictor *sp)
{
    const ir_program *p = g->in->prog;
    if (sp && sp->lm) {
        for (size_t i = 0; i < p->n_lms; i++)
            if (strcmp(p->lms[i]->name, sp->lm) == 0) return p->lms[i];
        dsp_error_set(g->err, DSP_ERR_INVALID, "the state names lm `%s` for predictor `%s`, which %s does not declare",
                      sp->lm, sp->name, p->source);
        g->failed = 1;
        return NULL;
    }
    const ir_optimize *o = optimize_of(g->in);
    if (o && o->lm) return o->lm;
    return p->n_lms ? p->lms[0] : NULL;
}

/* Returns the model string baked in ("provider/model"), or NULL (no LM);
 * *sym becomes an equal config's symbol when one was emitted before. */
static const char *emit_lm(cg_ctx *g, strbuf *out, const char **sym, const ir_lm *lm, const st_predictor *sp,
                           const ir_predictor *pr)
{
    /* Found first by the addresses of what the table is made of (the lm
     * and what the state and the call change), as emit_signature. */
    uint64_t temp_bits = 0;
    if (pr && pr->has_temperature) memcpy(&temp_bits, &pr->temperature, sizeof temp_bits);
    const uint64_t memo[8] = { (uintptr_t)lm, (uintptr_t)(sp ? sp->model : NULL),
                               (uintptr_t)(sp ? sp->adapter_path : NULL), (uintptr_t)(sp ? sp->adapter_sha256 : NULL),
                               (uintptr_t)(sp ? sp->adapter_name : NULL), (uintptr_t)(pr ? pr->adapter : NULL),
                               (uint64_t)(pr && pr->has_temperature), temp_bits };
    const char *had = cg_share_find(g, "memo:lm", "", (const char *)memo, sizeof memo);
    if (had) {
        *sym = had;
        return cg_share_find(g, "memo:lm-model", "", (const char *)memo, sizeof memo);
    }
    dsp_lm_config *cfg = NULL;
    dsp_error e = {0};
    if (irt_lm(g->a, lm, &cfg, &e) != DSP_OK) {
        dsp_error_set(g->err, DSP_ERR_INVALID, "lm `%s`: %s", lm->name, e.message);
        dsp_error_clear(&e);
        g->failed = 1;
        return NULL;
    }
    /* A call's `adapter:` and `temperature:` win over the lm's: each
     * predictor has its own config. */
    if (pr && pr->adapter) cfg->adapter = strcmp(pr->adapter, "json") == 0 ? DSP_ADAPTER_JSON : DSP_ADAPTER_CHAT;
    if (pr && pr->has_temperature) cfg->params.temperature = pr->temperature;
    const char *model = cfg->model;
    if (sp && sp->model) {
        const char *slash = strchr(cfg->model, '/');
        model = arena_printf(g->a, "%.*s/%s", (int)(slash - cfg->model), cfg->model, sp->model);
    }
    strbuf pre = {0}, body = {0}, *c = &pre;
    sb_printf(c, "/* lm %s", lm->name);
    if (sp && sp->adapter_path) sb_puts(c, ", with the optimizer's LoRA adapter (see the models table)");
    else if (sp && sp->model) sb_puts(c, ", fine-tuned model from the optimizer");
    if (cfg->api_key_env)
        sb_printf(c, ". The key is read at run time from $%s; it is never stored here", cfg->api_key_env);
    sb_puts(c, ". */\n");
    c = &body;
    sb_puts(c, " = {\n    ");
    cg_cstr(g, c, model, strlen(model), 4);
    sb_puts(c, ",\n    ");
    cg_cstr_or_null(g, c, cfg->base_url, 4);
    sb_puts(c, ",\n    ");
    cg_cstr_or_null(g, c, cfg->api_key_env, 4);
    sb_puts(c, ",\n    { .temperature = ");
    sb_put_double(c, cfg->params.temperature);
    sb_printf(c, ", .max_tokens = %d, .n = %d, .has_seed = %s, .seed = %lld,\n      .stop = {",
               cfg->params.max_tokens, cfg->params.n, cfg->params.has_seed ? "true" : "false",
               (long long)cfg->params.seed);
    int any = 0;
    for (size_t k = 0; k < DSP_MAX_STOP && cfg->params.stop[k]; k++, any = 1) {
        sb_puts(c, k ? ", " : " ");
        cg_cstr(g, c, cfg->params.stop[k], strlen(cfg->params.stop[k]), 8);
    }
    sb_puts(c, any ? " }" : " NULL }");
    sb_puts(c, ", .json_schema = ");
    cg_cstr_or_null(g, c, cfg->params.json_schema, 8);
    if (cfg->params.has_top_p) {
        sb_puts(c, ",\n      .has_top_p = true, .top_p = ");
        sb_put_double(c, cfg->params.top_p);
    }
    if (sp && sp->adapter_sha256 && irt_lm_llama_cpp(lm)) {
        /* llama.cpp's server selects the adapter per request. */
        const dsp_lm_config *sel = irt_lm_with_adapter(g->a, lm, cfg, sp->adapter_name, sp->adapter_sha256);
        sb_printf(c, ",\n      .has_lora = true, .lora_id = %d, .lora_sha256 = ", sel->params.lora_id);
        cg_cstr(g, c, sp->adapter_sha256, strlen(sp->adapter_sha256), 8);
    }
    /* Every field, so that -Wmissing-field-initializers stays quiet. */
    sb_printf(c, " },\n    .timeout_ms = %d, .has_retries = %s, .retries = %d, .no_cache = %s,\n    .adapter = %s,\n",
              cfg->timeout_ms, cfg->has_retries ? "true" : "false", cfg->retries, cfg->no_cache ? "true" : "false",
              cfg->adapter == DSP_ADAPTER_JSON ? "DSP_ADAPTER_JSON" : "DSP_ADAPTER_CHAT");
    if (cfg->tool_calling == DSP_TOOL_CALLING_NATIVE)
        sb_puts(c, "    .tool_calling = DSP_TOOL_CALLING_NATIVE,\n");
    /* Prices, for the cost in traces (dspcc.cost_usd); only when declared. */
    if (cfg->usd_per_mtok_in > 0 || cfg->usd_per_mtok_out > 0) {
        sb_puts(c, "    .usd_per_mtok_in = ");
        sb_put_double(c, cfg->usd_per_mtok_in);
        sb_puts(c, ", .usd_per_mtok_out = ");
        sb_put_double(c, cfg->usd_per_mtok_out);
        sb_puts(c, ",\n");
    }
    /* Rate limits the client paces itself to; only when declared. */
    if (cfg->rpm > 0 || cfg->tpm > 0)
        sb_printf(c, "    .rpm = %d, .tpm = %d,\n", cfg->rpm, cfg->tpm);
    sb_puts(c, "};\n");
    if (pre.oom) out->oom = 1;
    *sym = cg_share_emit(g, out, pre.p ? pre.p : "", "dsp_lm_config", *sym, &body);
    sb_free(&pre);
    cg_share_sym(g, "memo:lm", "", (const char *)memo, sizeof memo, *sym);
    cg_share_sym(g, "memo:lm-model", "", (const char *)memo, sizeof memo, model);
    return model;
}

/* ---- demos ----------------------------------------------------------- */

static size_t name_index(char *const *names, size_t n, const char *name)
{
    for (size_t i = 0; i < n; i++)
        if (names[i] && strcmp(names[i], name) == 0) return i;
    return n;
}

static size_t emit_demos(cg_ctx *g, strbuf *c, const char *sym, const ir_predictor *pr, const st_predictor *sp)
{
    if (!sp || !sp->n_demos) return 0;
    const ir_signature *sig = pr->signature;
    /* The state keys demo values by name; the tables are in field order. */
    for (size_t i = 0; i < sp->n_input_names; i++)
        if (!ir_field_find(sig->inputs, sig->n_inputs, sp->input_names[i])) {
            dsp_error_set(g->err, DSP_ERR_INVALID,
                          "the state's demos of `%s` have input `%s`, which signature %s does not have; "
                          "re-run dspcc optimize",
                          pr->name, sp->input_names[i], sig->name);
            g->failed = 1;
            return 0;
        }
    for (size_t i = 0; i < sp->n_output_names; i++)
        if (!ir_field_find(pr->outputs, pr->n_outputs, sp->output_names[i])) {
            dsp_error_set(g->err, DSP_ERR_INVALID,
                          "the state's demos of `%s` have output `%s`, which the predictor does not produce; "
                          "re-run dspcc optimize",
                          pr->name, sp->output_names[i]);
            g->failed = 1;
            return 0;
        }
    for (size_t d = 0; d < sp->n_demos; d++) {
        const st_demo *dm = &sp->demos[d];
        if (sig->n_inputs) {
            sb_printf(c, "static const char *const %s_d%zu_in[%zu] = {\n", sym, d, sig->n_inputs);
            for (size_t i = 0; i < sig->n_inputs; i++) {
                size_t k = name_index(sp->input_names, sp->n_input_names, sig->inputs[i].name);
                const char *v = k < dm->n_inputs ? dm->inputs[k] : NULL;
                sb_printf(c, "    /* %s */ ", sig->inputs[i].name);
                cg_cstr_or_null(g, c, v, 4);
                sb_puts(c, ",\n");
            }
            sb_puts(c, "};\n");
        }
        sb_printf(c, "static const char *const %s_d%zu_out[%zu] = {\n", sym, d, pr->n_outputs);
        for (size_t i = 0; i < pr->n_outputs; i++) {
            size_t k = name_index(sp->output_names, sp->n_output_names, pr->outputs[i].name);
            const char *v = k < dm->n_outputs ? dm->outputs[k] : NULL;
            sb_printf(c, "    /* %s */ ", pr->outputs[i].name);
            cg_cstr_or_null(g, c, v, 4);
            sb_puts(c, ",\n");
        }
        sb_puts(c, "};\n");
    }
    sb_printf(c, "static const dsp_demo %s_demos[%zu] = {\n", sym, sp->n_demos);
    for (size_t d = 0; d < sp->n_demos; d++) {
        if (sig->n_inputs)
            sb_printf(c, "    { %s_d%zu_in, %s_d%zu_out },\n", sym, d, sym, d);
        else
            sb_printf(c, "    { NULL, %s_d%zu_out },\n", sym, d);
    }
    sb_puts(c, "};\n");
    return sp->n_demos;
}

/* ---- knn_fewshot -------------------------------------------------------- */

/* A float as a C literal that reads back as the same float: nine
 * significant digits, a point or exponent, the f suffix. */
static void put_float_literal(strbuf *c, float f)
{
    char b[40];
    snprintf(b, sizeof b, "%.9g", (double)f);
    sb_puts(c, b);
    if (!strpbrk(b, ".e")) sb_puts(c, ".0");
    sb_puts(c, "f");
}

/* The pool's vectors, the embedder's lm, the dsp_knn and the options table
 * a call passes it in (sym_knn_opts), for a predictor whose state has knn.
 * The pool is the demo table sym_demos. Returns 0 when there is none. */
static int emit_knn(cg_ctx *g, strbuf *c, const char *sym, const st_predictor *sp)
{
    if (!sp || sp->knn_k <= 0 || !sp->n_demos) return 0;
    const ir_program *p = g->in->prog;
    const ir_lm *el = NULL;
    for (size_t i = 0; i < p->n_lms && !el; i++)
        if (strcmp(p->lms[i]->name, sp->knn_embedder) == 0) el = p->lms[i];
    if (!el) {
        dsp_error_set(g->err, DSP_ERR_INVALID, "the state's knn of `%s` embeds with lm `%s`, which %s does not declare",
                      sp->name, sp->knn_embedder, p->source);
        g->failed = 1;
        return 0;
    }
    const char *lm_sym = arena_printf(g->a, "%s_knn_lm", sym);
    if (!emit_lm(g, c, &lm_sym, el, NULL, NULL)) return 0;
    sb_printf(c, "/* knn_fewshot: the embedder's vectors of the %zu demos above (unit length, %zu floats each);\n"
                 "   each call takes its %d nearest as demos (dsp/knn.h). */\n",
              sp->n_demos, sp->knn_dim, sp->knn_k);
    sb_printf(c, "static const float %s_knn_vectors[%zu] = {\n", sym, sp->n_demos * sp->knn_dim);
    for (size_t d = 0; d < sp->n_demos; d++) {
        sb_puts(c, "   ");
        for (size_t j = 0; j < sp->knn_dim; j++) {
            sb_puts(c, " ");
            put_float_literal(c, sp->knn_vectors[d * sp->knn_dim + j]);
            sb_puts(c, ",");
        }
        sb_puts(c, "\n");
    }
    sb_puts(c, "};\n");
    sb_printf(c, "static const dsp_knn %s_knn = {\n    &%s, %d, %d, %zu, %s_knn_vectors, %s_demos, %zu\n};\n", sym,
              lm_sym, sp->knn_dimensions, sp->knn_k, sp->knn_dim, sym, sym, sp->n_demos);
    return 1;
}

/* An ensemble's members (each its instructions and demo tables: sym_ens_m),
 * for a predictor whose state has one. Returns 0 when there is none. */
static int emit_ensemble(cg_ctx *g, strbuf *c, const char *sym, const ir_predictor *pr, const st_predictor *sp)
{
    if (!sp || !sp->n_members) return 0;
    size_t field = pr->n_outputs;
    for (size_t k = 0; k < pr->n_outputs; k++)
        if (strcmp(pr->outputs[k].name, sp->ensemble_field) == 0) field = k;
    if (field == pr->n_outputs) {
        dsp_error_set(g->err, DSP_ERR_INVALID, "the state's ensemble of `%s` votes on `%s`, which it does not produce; "
                      "re-run dspcc optimize", pr->name, sp->ensemble_field);
        g->failed = 1;
        return 0;
    }
    size_t *n_demos = arena_array(g->a, sp->n_members + 1, sizeof *n_demos);
    for (size_t m = 0; m < sp->n_members; m++) {
        st_predictor one = *sp;
        one.demos = sp->members[m].demos;
        one.n_demos = sp->members[m].n_demos;
        n_demos[m] = emit_demos(g, c, arena_printf(g->a, "%s_m%zu", sym, m), pr, &one);
    }
    if (sp->ensemble_size > 0 && (size_t)sp->ensemble_size < sp->n_members)
        sb_printf(c, "/* ensemble: %zu members, each with its own instructions and demos; each call runs %lld of\n"
                     "   them, drawn from its inputs and the seed, and they vote on `%s` (dsp/ensemble.h). */\n",
                  sp->n_members, sp->ensemble_size, sp->ensemble_field);
    else
        sb_printf(c, "/* ensemble: %zu members, each with its own instructions and demos; every call runs them all\n"
                     "   and they vote on `%s` (dsp/ensemble.h). */\n",
                  sp->n_members, sp->ensemble_field);
    sb_printf(c, "static const dsp_predict_options %s_ens_m[%zu] = {\n", sym, sp->n_members);
    for (size_t m = 0; m < sp->n_members; m++) {
        const char *ins = sp->members[m].instructions ? sp->members[m].instructions : pr->signature->instructions;
        sb_puts(c, "    { .instructions = ");
        cg_cstr_or_null(g, c, ins, 8);
        if (n_demos[m])
            sb_printf(c, ",\n      .override_demos = true, .demos = %s_m%zu_demos, .n_demos = %zu },\n", sym, m,
                      n_demos[m]);
        else
            sb_puts(c, ",\n      .override_demos = true, .demos = NULL, .n_demos = 0 },\n");
    }
    sb_puts(c, "};\n");
    return 1;
}

/* The index of the output sp's ensemble votes on (as emit_ensemble checked it). */
static size_t ensemble_field(const ir_predictor *pr, const st_predictor *sp)
{
    for (size_t k = 0; k < pr->n_outputs; k++)
        if (strcmp(pr->outputs[k].name, sp->ensemble_field) == 0) return k;
    return 0;
}

/* How a call of one predictor runs, from the program's state and the
 * shadow state (either may be NULL). */
typedef struct call_plan {
    const st_predictor *sp[2]; /* [0] the program's, [1] the shadow's */
    int knn[2], ens[2];        /* each one's knn (without an ensemble) and ensemble */
    int through_ensemble;      /* the call is dsp_ensemble_run's (either has an ensemble) */
} call_plan;

static call_plan plan_of(cg_ctx *g, const ir_predictor *pr)
{
    call_plan cp = { { NULL, NULL }, { 0, 0 }, { 0, 0 }, 0 };
    const st_state *st[2] = { g->in->state, g->in->shadow_state };
    for (int v = 0; v < 2; v++) {
        const st_predictor *sp = st[v] ? st_predictor_find(st[v], pr->name) : NULL;
        cp.sp[v] = sp;
        cp.ens[v] = sp && sp->n_members;
        cp.knn[v] = sp && !cp.ens[v] && sp->knn_k > 0 && sp->n_demos;
    }
    cp.through_ensemble = cp.ens[0] || cp.ens[1];
    return cp;
}

/* The tables a call passes (after both variants' predictors, since the
 * program's point to the shadow's): a dsp_predict_options holding a knn
 * (SYM_knn_opts) and a dsp_ensemble (SYM_ens), for variant v (0: the
 * program, symbols k_pN; 1: the shadow, k_s_pN). Either side's knn or
 * ensemble alone makes the program's call carry one: a variant that has
 * none runs the predictor plainly (libdsprt, dsp/predict.h and
 * dsp/ensemble.h). */
static void emit_call_tables(cg_ctx *g, strbuf *c, int v)
{
    const ir_module **mods;
    size_t nm = cg_modules(g, &mods), idx = 0;
    for (size_t i = 0; i < nm; i++) {
        for (size_t k = 0; k < mods[i]->n_predictors; k++, idx++) {
            const ir_predictor *pr = mods[i]->predictors[k];
            call_plan cp = plan_of(g, pr);
            const char *sym = arena_printf(g->a, "%s%zu", v ? "k_s_p" : "k_p", idx);
            const char *ssym = arena_printf(g->a, "k_s_p%zu", idx);
            /* The knn options: a call's (no ensemble), or a one-member
             * ensemble's. */
            int shadow_link = !v && !cp.through_ensemble && cp.knn[1];
            if (cp.knn[v] || shadow_link) {
                sb_printf(c, "static const dsp_predict_options %s_knn_opts = { ", sym);
                if (cp.knn[v]) sb_printf(c, ".knn = &%s_knn%s", sym, shadow_link ? ", " : "");
                if (shadow_link) sb_printf(c, ".shadow = &%s_knn_opts", ssym);
                sb_puts(c, " };\n");
            }
            if (!cp.through_ensemble || (v && !cp.ens[1] && !cp.knn[1])) continue;
            if (cp.ens[v])
                sb_printf(c, "static const dsp_ensemble %s_ens = { %s_ens_m, %zu, %zu, %lld, %lluu", sym, sym,
                          cp.sp[v]->n_members, ensemble_field(pr, cp.sp[v]), cp.sp[v]->ensemble_size,
                          (unsigned long long)cp.sp[v]->ensemble_seed);
            else if (cp.knn[v])
                sb_printf(c, "static const dsp_ensemble %s_ens = { &%s_knn_opts, 1, 0, 0, 0", sym, sym);
            else
                sb_printf(c, "static const dsp_ensemble %s_ens = { NULL, 0, 0, 0, 0", sym);
            if (!v && (cp.ens[1] || cp.knn[1]))
                sb_printf(c, ", &%s_ens };\n", ssym);
            else
                sb_puts(c, ", NULL };\n");
        }
    }
}

const char *cg_ensemble_sym(cg_ctx *g, const ir_predictor *pr)
{
    return plan_of(g, pr).through_ensemble ? arena_printf(g->a, "%s_ens", cg_predictor_sym(g, pr)) : NULL;
}

/* Whether a state has an ensemble (n_members) or a knn (knn_k). */
static int any_of(const st_state *s, int knn)
{
    for (size_t i = 0; s && i < s->n_predictors; i++)
        if (knn ? s->predictors[i].knn_k > 0 : s->predictors[i].n_members > 0) return 1;
    return 0;
}

int cg_has_ensemble(cg_ctx *g)
{
    return any_of(g->in->state, 0) || any_of(g->in->shadow_state, 0);
}

const char *cg_knn_opts_sym(cg_ctx *g, const ir_predictor *pr)
{
    call_plan cp = plan_of(g, pr);
    if (!cp.knn[0] && (cp.through_ensemble || !cp.knn[1])) return NULL;
    return arena_printf(g->a, "%s_knn_opts", cg_predictor_sym(g, pr));
}

int cg_has_knn(cg_ctx *g)
{
    return any_of(g->in->state, 1) || any_of(g->in->shadow_state, 1);
}

/* ---- predictors ------------------------------------------------------ */

/* A predictor's signature table (and its fields'), or an equal one's
 * symbol. Found first by the signature's and instructions' addresses
 * (every predictor of a signature as written has the same tables), so a
 * program of many such predictors renders them once. */
static const char *emit_signature(cg_ctx *g, strbuf *c, const char *sym, const ir_signature *sig, const char *instr,
                                  int optimized)
{
    const void *memo[2] = { sig, instr };
    const char *had = cg_share_find(g, "memo:signature", "", (const char *)memo, sizeof memo);
    if (had) return had;
    const char *in_sym = emit_fields(g, c, g->rt, arena_printf(g->a, "%s_in", sym), sig->inputs, sig->n_inputs);
    const char *out_sym = emit_fields(g, c, g->rt, arena_printf(g->a, "%s_out", sym), sig->outputs, sig->n_outputs);
    strbuf sb = {0};
    sb_puts(&sb, " = {\n    ");
    cg_cstr(g, &sb, sig->name, strlen(sig->name), 4);
    sb_puts(&sb, ",\n    ");
    cg_cstr_or_null(g, &sb, instr, 4);
    sb_printf(&sb, ",\n    %s, %zu, %s, %zu\n};\n", in_sym ? in_sym : "NULL", sig->n_inputs, out_sym ? out_sym : "NULL",
              sig->n_outputs);
    const char *sig_sym = cg_share_emit(
        g, c, optimized ? "/* The instructions are the optimizer's (see the state file), not the signature's. */\n" : "",
        "dsp_signature", arena_printf(g->a, "%s_sig", sym), &sb);
    cg_share_sym(g, "memo:signature", "", (const char *)memo, sizeof memo, sig_sym);
    return sig_sym;
}

/* The predictors of one variant of the program, with the prompts and lms of
 * state (NULL: as written), as symbols symp0, symp1, ...; refs gets the
 * models table's rows, preds (may be NULL) the predictors' addresses. */
static void emit_variant(cg_ctx *g, strbuf *c, const st_state *state, const char *symp, strbuf *refs, strbuf *preds)
{
    const ir_module **mods;
    size_t nm = cg_modules(g, &mods), idx = 0;
    for (size_t i = 0; i < nm; i++) {
        for (size_t k = 0; k < mods[i]->n_predictors; k++, idx++) {
            const ir_predictor *pr = mods[i]->predictors[k];
            const ir_signature *sig = pr->signature;
            const st_predictor *sp = state ? st_predictor_find(state, pr->name) : NULL;
            const char *sym = arena_printf(g->a, "%s%zu", symp, idx);
            sb_printf(c, "/* ---- %s: %s(%s) ---- */\n\n", pr->name, pr->strategy, sig->name);
            /* Predictors with the same signature, fields and lm share
             * these tables (cg_share.c): each has only its dsp_predictor. */
            const char *instr = sp && sp->instructions ? sp->instructions : sig->instructions;
            const char *sig_sym = emit_signature(g, c, sym, sig, instr, sp && sp->instructions);
            size_t n_demos = emit_demos(g, c, sym, pr, sp);
            /* knn_fewshot: the demos are the pool, not the predictor's. A
             * shadow variant's predictor holds its own knn and ensemble,
             * which libdsprt runs in place of the program's. */
            if (emit_knn(g, c, sym, sp)) n_demos = 0;
            emit_ensemble(g, c, sym, pr, sp);
            const ir_lm *lm = lm_of(g, sp);
            const char *model = NULL;
            const char *lm_sym = arena_printf(g->a, "%s_lm", sym);
            if (lm) model = emit_lm(g, c, &lm_sym, lm, sp, pr);
            const char *strategy;
            if (strcmp(pr->strategy, "predict") == 0)
                strategy = "DSP_STRATEGY_PREDICT";
            else if (strcmp(pr->strategy, "chain_of_thought") == 0)
                strategy = "DSP_STRATEGY_CHAIN_OF_THOUGHT";
            else {
                dsp_error_set(g->err, DSP_ERR_INVALID, "predictor `%s`: the C backend does not know strategy `%s`",
                              pr->name, pr->strategy);
                g->failed = 1;
                strategy = "DSP_STRATEGY_PREDICT";
            }
            sb_printf(c, "static const dsp_predictor %s = {\n    ", sym);
            cg_cstr(g, c, pr->name, strlen(pr->name), 4);
            sb_printf(c, ", &%s, %s,\n    %s%s, %zu, %s%s\n};\n\n", sig_sym, strategy, n_demos ? sym : "NULL",
                       n_demos ? "_demos" : "", n_demos, lm && model ? "&" : "NULL", lm && model ? lm_sym : "");

            sb_puts(refs, "    { ");
            cg_cstr(g, refs, pr->name, strlen(pr->name), 6);
            sb_puts(refs, ", ");
            cg_cstr_or_null(g, refs, model, 6);
            sb_puts(refs, ", ");
            cg_cstr_or_null(g, refs, sp ? sp->adapter_path : NULL, 6);
            sb_puts(refs, ", ");
            cg_cstr_or_null(g, refs, sp ? sp->adapter_sha256 : NULL, 6);
            sb_puts(refs, ", ");
            cg_cstr_or_null(g, refs, sp ? sp->adapter_name : NULL, 6);
            sb_puts(refs, " },\n");
            if (preds) sb_printf(preds, "    &%s,\n", sym);
        }
    }
}

static void emit_models(cg_ctx *g, strbuf *c, const char *name, strbuf *refs)
{
    sb_printf(c, "const %s_model_ref %s_%s[%s_N_PREDICTORS + 1] = {\n", g->prefix, g->prefix, name, g->PREFIX);
    if (refs->p) sb_puts(c, refs->p);
    sb_puts(c, "    { NULL, NULL, NULL, NULL, NULL },\n};\n\n");
    if (refs->oom) c->oom = 1;
    sb_free(refs);
}

void cg_emit_tables(cg_ctx *g, strbuf *c)
{
    rt_types rt = {0};
    strbuf refs = {0};
    g->rt = &rt;
    emit_variant(g, c, g->in->state, "k_p", &refs, NULL);
    cg_emit_react_tables(g, c);
    cg_emit_sampling_tables(g, c);
    cg_emit_cstruct_tables(g, c);
    g->rt = NULL;
    emit_models(g, c, "models", &refs);
    if (g->in->shadow_state) {
        /* Shadow mode's variant: the same predictors with the shadow
         * state's prompts and lms, which a client given them in its
         * options (variant) runs instead of the program's own. */
        strbuf preds = {0};
        g->rt = &rt;
        emit_variant(g, c, g->in->shadow_state, "k_s_p", &refs, &preds);
        g->rt = NULL;
        emit_models(g, c, "shadow_models", &refs);
        sb_printf(c, "const dsp_predictor *const %s_shadow_variant[%s_N_PREDICTORS + 1] = {\n", g->prefix, g->PREFIX);
        if (preds.p) sb_puts(c, preds.p);
        sb_puts(c, "    NULL,\n};\n\n");
        if (preds.oom) c->oom = 1;
        sb_free(&preds);
        emit_call_tables(g, c, 1);
    }
    emit_call_tables(g, c, 0);
}
