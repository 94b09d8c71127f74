/* state.c — reading, freeing and looking up an optimized state (state.h).
 * The canonical writer is in state_write.c.
 *
 * The reader is strict: the state is baked into shipped code, so a typo'd
 * key or a wrong type is reported (file and key path) rather than ignored.
 */
#include <errno.h>
#include <math.h>
#include <stddef.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include <cjson/cJSON.h>

#include "state.h"
#include "file_read.h"
#include "dsp/value.h"

typedef struct rd {
    const char *file;
    dsp_error *err;
} rd;

static dsp_status bad(rd *r, const char *key, const char *what)
{
    return dsp_error_set(r->err, DSP_ERR_PARSE, "%s: key `%s`: %s", r->file, key, what);
}

static char *dupstr(const char *s)
{
    size_t n = strlen(s);
    char *p = malloc(n + 1);
    if (p) memcpy(p, s, n + 1);
    return p;
}

static dsp_status get_str(rd *r, const cJSON *v, const char *key, char **out)
{
    if (!cJSON_IsString(v)) return bad(r, key, "expected a string");
    *out = dupstr(v->valuestring);
    if (!*out) return dsp_error_set(r->err, DSP_ERR_NOMEM, "%s: out of memory", r->file);
    return DSP_OK;
}

static dsp_status get_num(rd *r, const cJSON *v, const char *key, double *out)
{
    if (!cJSON_IsNumber(v) || !isfinite(v->valuedouble)) return bad(r, key, "expected a number");
    *out = v->valuedouble;
    return DSP_OK;
}

static dsp_status get_int(rd *r, const cJSON *v, const char *key, long long *out)
{
    double d = 0;
    dsp_status st = get_num(r, v, key, &d);
    if (st != DSP_OK) return st;
    if (d != floor(d) || d < -9.0e15 || d > 9.0e15) return bad(r, key, "expected an integer");
    *out = (long long)d;
    return DSP_OK;
}

/* holdout_rows: ascending row numbers from 0, so eval runs each once. */
static dsp_status read_rows(rd *r, const cJSON *v, st_state *s)
{
    if (!cJSON_IsArray(v)) return bad(r, "holdout_rows", "expected an array of row numbers");
    int n = cJSON_GetArraySize(v);
    s->holdout_rows = calloc((size_t)n + 1, sizeof *s->holdout_rows);
    if (!s->holdout_rows) return dsp_error_set(r->err, DSP_ERR_NOMEM, "%s: out of memory", r->file);
    for (const cJSON *c = v->child; c; c = c->next) {
        long long row;
        dsp_status st = get_int(r, c, "holdout_rows", &row);
        if (st != DSP_OK) return st;
        if (row < 0 || (s->n_holdout_rows && row <= s->holdout_rows[s->n_holdout_rows - 1]))
            return bad(r, "holdout_rows", "expected ascending row numbers from 0");
        s->holdout_rows[s->n_holdout_rows++] = row;
    }
    return DSP_OK;
}

/* Checks that obj has only keys from `allowed` (NULL-terminated). */
static dsp_status only_keys(rd *r, const cJSON *obj, const char *path, const char *const *allowed)
{
    for (const cJSON *c = obj->child; c; c = c->next) {
        int ok = 0;
        for (const char *const *a = allowed; *a; a++)
            if (strcmp(c->string, *a) == 0) ok = 1;
        if (!ok) {
            char key[512];
            snprintf(key, sizeof key, "%s%s%s", path, *path ? "." : "", c->string);
            return bad(r, key, "unknown key");
        }
    }
    return DSP_OK;
}

static dsp_status read_names(rd *r, const cJSON *arr, const char *key, char ***out, size_t *n)
{
    if (!cJSON_IsArray(arr)) return bad(r, key, "expected an array of field names");
    size_t cnt = (size_t)cJSON_GetArraySize(arr);
    *out = calloc(cnt ? cnt : 1, sizeof **out);
    if (!*out) return dsp_error_set(r->err, DSP_ERR_NOMEM, "%s: out of memory", r->file);
    *n = cnt;
    size_t i = 0;
    for (const cJSON *c = arr->child; c; c = c->next, i++) {
        dsp_status st = get_str(r, c, key, &(*out)[i]);
        if (st != DSP_OK) return st;
        for (size_t k = 0; k < i; k++)
            if (strcmp((*out)[k], (*out)[i]) == 0) return bad(r, key, "a field name appears twice");
    }
    return DSP_OK;
}

/* A demo's "inputs" or "outputs" object: values keyed by name, placed at
 * the name's position; absent names stay NULL. */
static dsp_status read_demo_fields(rd *r, const cJSON *obj, const char *key, char *const *names, size_t n_names,
                                   char ***out, size_t *n)
{
    if (!cJSON_IsObject(obj)) return bad(r, key, "expected an object of field texts");
    *out = calloc(n_names ? n_names : 1, sizeof **out);
    if (!*out) return dsp_error_set(r->err, DSP_ERR_NOMEM, "%s: out of memory", r->file);
    *n = n_names;
    for (const cJSON *c = obj->child; c; c = c->next) {
        char sub[512];
        snprintf(sub, sizeof sub, "%s.%s", key, c->string);
        size_t idx = n_names;
        for (size_t i = 0; i < n_names; i++)
            if (strcmp(names[i], c->string) == 0) idx = i;
        if (idx == n_names) return bad(r, sub, "not one of the predictor's declared field names");
        if ((*out)[idx]) return bad(r, sub, "appears twice");
        dsp_status st = get_str(r, c, sub, &(*out)[idx]);
        if (st != DSP_OK) return st;
    }
    return DSP_OK;
}

/* knn_fewshot's "knn" object: k, the embedder, the vectors of the demos. */
static dsp_status read_knn(rd *r, const cJSON *v, const char *path, st_predictor *p)
{
    char key[512];
    snprintf(key, sizeof key, "%s.knn", path);
    if (!cJSON_IsObject(v)) return bad(r, key, "expected an object with k, embedder, dim and vectors");
    static const char *const knn_keys[] = {"k", "embedder", "dimensions", "dim", "vectors", NULL};
    dsp_status st = only_keys(r, v, key, knn_keys);
    if (st != DSP_OK) return st;
    long long k = 0, dims = 0, dim = 0;
    snprintf(key, sizeof key, "%s.knn.k", path);
    if ((st = get_int(r, cJSON_GetObjectItemCaseSensitive(v, "k"), key, &k)) != DSP_OK) return st;
    if (k < 1 || k > 64) return bad(r, key, "must be from 1 to 64");
    snprintf(key, sizeof key, "%s.knn.embedder", path);
    if ((st = get_str(r, cJSON_GetObjectItemCaseSensitive(v, "embedder"), key, &p->knn_embedder)) != DSP_OK)
        return st;
    const cJSON *dv = cJSON_GetObjectItemCaseSensitive(v, "dimensions");
    snprintf(key, sizeof key, "%s.knn.dimensions", path);
    if (dv && (st = get_int(r, dv, key, &dims)) != DSP_OK) return st;
    if (dims < 0 || dims > 65536) return bad(r, key, "must be from 0 to 65536");
    snprintf(key, sizeof key, "%s.knn.dim", path);
    if ((st = get_int(r, cJSON_GetObjectItemCaseSensitive(v, "dim"), key, &dim)) != DSP_OK) return st;
    if (dim < 1 || dim > 65536) return bad(r, key, "must be from 1 to 65536");
    const cJSON *vs = cJSON_GetObjectItemCaseSensitive(v, "vectors");
    snprintf(key, sizeof key, "%s.knn.vectors", path);
    if (!cJSON_IsArray(vs) || (size_t)cJSON_GetArraySize(vs) != p->n_demos || p->n_demos == 0)
        return bad(r, key, "expected an array with one vector per demo");
    /* Every row's length first: the vectors are allocated for what the
     * file holds, never for a `dim` it only claims (n_demos x 65536
     * floats from a file of empty rows). */
    size_t d = 0;
    for (const cJSON *row = vs->child; row; row = row->next, d++) {
        snprintf(key, sizeof key, "%s.knn.vectors[%zu]", path, d);
        if (!cJSON_IsArray(row) || cJSON_GetArraySize(row) != dim)
            return bad(r, key, "expected an array of `dim` numbers");
    }
    p->knn_vectors = malloc(p->n_demos * (size_t)dim * sizeof *p->knn_vectors);
    if (!p->knn_vectors) return dsp_error_set(r->err, DSP_ERR_NOMEM, "%s: out of memory", r->file);
    d = 0;
    for (const cJSON *row = vs->child; row; row = row->next, d++) {
        snprintf(key, sizeof key, "%s.knn.vectors[%zu]", path, d);
        size_t j = 0;
        for (const cJSON *x = row->child; x; x = x->next, j++) {
            if (!cJSON_IsNumber(x) || !isfinite(x->valuedouble) || fabs(x->valuedouble) > 1.0001)
                return bad(r, key, "expected numbers from -1 to 1");
            p->knn_vectors[d * (size_t)dim + j] = (float)x->valuedouble;
        }
    }
    p->knn_k = (int)k;
    p->knn_dimensions = (int)dims;
    p->knn_dim = (size_t)dim;
    return DSP_OK;
}

static dsp_status read_predictor_fields(rd *r, const cJSON *o, size_t i, st_predictor *p);

/* A list of demos at key (of the predictor at path), keyed by p's field
 * names. */
static dsp_status read_demos(rd *r, const cJSON *v, const char *key, const char *path, const st_predictor *p,
                             st_demo **out, size_t *n_out)
{
    if (!cJSON_IsArray(v)) return bad(r, key, "expected an array");
    size_t n = (size_t)cJSON_GetArraySize(v);
    if (n && (!p->input_names || !p->output_names))
        return bad(r, path, "has demos but no `inputs` and `outputs` lists of field names");
    *out = calloc(n ? n : 1, sizeof **out);
    if (!*out) return dsp_error_set(r->err, DSP_ERR_NOMEM, "%s: out of memory", r->file);
    *n_out = n;
    st_demo *demos = *out;
    size_t d = 0;
    dsp_status st;
    char sub[600];
    for (const cJSON *dm = v->child; dm; dm = dm->next, d++) {
        char dpath[540];
        snprintf(dpath, sizeof dpath, "%s[%zu]", key, d);
        if (!cJSON_IsObject(dm)) return bad(r, dpath, "expected an object with inputs and outputs");
        static const char *const dm_keys[] = {"inputs", "outputs", NULL};
        if ((st = only_keys(r, dm, dpath, dm_keys)) != DSP_OK) return st;
        snprintf(sub, sizeof sub, "%s.inputs", dpath);
        if ((st = read_demo_fields(r, cJSON_GetObjectItemCaseSensitive(dm, "inputs"), sub, p->input_names,
                                   p->n_input_names, &demos[d].inputs, &demos[d].n_inputs)) != DSP_OK)
            return st;
        snprintf(sub, sizeof sub, "%s.outputs", dpath);
        if ((st = read_demo_fields(r, cJSON_GetObjectItemCaseSensitive(dm, "outputs"), sub, p->output_names,
                                   p->n_output_names, &demos[d].outputs, &demos[d].n_outputs)) != DSP_OK)
            return st;
    }
    return DSP_OK;
}

/* An ensemble's "field" and "members" (each its instructions and demos). */
static dsp_status read_ensemble(rd *r, const cJSON *v, const char *path, st_predictor *p)
{
    char key[700];
    snprintf(key, sizeof key, "%s.ensemble", path);
    if (!cJSON_IsObject(v)) return bad(r, key, "expected an object with field and members");
    static const char *const ens_keys[] = {"field", "members", "size", "seed", NULL};
    dsp_status st = only_keys(r, v, key, ens_keys);
    if (st != DSP_OK) return st;
    const cJSON *size = cJSON_GetObjectItemCaseSensitive(v, "size"), *seed = cJSON_GetObjectItemCaseSensitive(v, "seed");
    snprintf(key, sizeof key, "%s.ensemble.size", path);
    if (size && (st = get_int(r, size, key, &p->ensemble_size)) != DSP_OK) return st;
    if (p->ensemble_size < 0) return bad(r, key, "expected members a call runs (0: all)");
    snprintf(key, sizeof key, "%s.ensemble.seed", path);
    if (seed && (st = get_int(r, seed, key, &p->ensemble_seed)) != DSP_OK) return st;
    snprintf(key, sizeof key, "%s.ensemble.field", path);
    if ((st = get_str(r, cJSON_GetObjectItemCaseSensitive(v, "field"), key, &p->ensemble_field)) != DSP_OK)
        return st;
    const cJSON *ms = cJSON_GetObjectItemCaseSensitive(v, "members");
    snprintf(key, sizeof key, "%s.ensemble.members", path);
    if (!cJSON_IsArray(ms) || cJSON_GetArraySize(ms) < 1 || cJSON_GetArraySize(ms) > 64)
        return bad(r, key, "expected an array of 1 to 64 members");
    size_t n = (size_t)cJSON_GetArraySize(ms);
    p->members = calloc(n, sizeof *p->members);
    if (!p->members) return dsp_error_set(r->err, DSP_ERR_NOMEM, "%s: out of memory", r->file);
    p->n_members = n;
    size_t m = 0;
    for (const cJSON *mb = ms->child; mb; mb = mb->next, m++) {
        char mpath[300];
        snprintf(mpath, sizeof mpath, "%s.ensemble.members[%zu]", path, m);
        if (!cJSON_IsObject(mb)) return bad(r, mpath, "expected an object with instructions and demos");
        static const char *const mb_keys[] = {"instructions", "demos", NULL};
        if ((st = only_keys(r, mb, mpath, mb_keys)) != DSP_OK) return st;
        const cJSON *ins = cJSON_GetObjectItemCaseSensitive(mb, "instructions");
        snprintf(key, sizeof key, "%s.instructions", mpath);
        if (ins && (st = get_str(r, ins, key, &p->members[m].instructions)) != DSP_OK) return st;
        snprintf(key, sizeof key, "%s.demos", mpath);
        const cJSON *ds = cJSON_GetObjectItemCaseSensitive(mb, "demos");
        if (!ds) return bad(r, key, "missing");
        if ((st = read_demos(r, ds, key, path, p, &p->members[m].demos, &p->members[m].n_demos)) != DSP_OK)
            return st;
    }
    return DSP_OK;
}

static dsp_status read_predictor(rd *r, const cJSON *o, size_t i, st_predictor *p)
{
    dsp_status st = read_predictor_fields(r, o, i, p);
    const cJSON *v = st == DSP_OK ? cJSON_GetObjectItemCaseSensitive(o, "knn") : NULL;
    char path[128];
    snprintf(path, sizeof path, "predictors[%zu]", i);
    if (v)
        st = read_knn(r, v, path, p);
    v = st == DSP_OK ? cJSON_GetObjectItemCaseSensitive(o, "ensemble") : NULL;
    if (v)
        st = read_ensemble(r, v, path, p);
    return st;
}

static dsp_status read_predictor_fields(rd *r, const cJSON *o, size_t i, st_predictor *p)
{
    char path[128], key[512];
    snprintf(path, sizeof path, "predictors[%zu]", i);
    if (!cJSON_IsObject(o)) return bad(r, path, "expected an object");
    static const char *const allowed[] = {"name",   "instructions", "lm",    "model", "adapter",
                                          "inputs", "outputs",      "demos", "knn",  "ensemble", NULL};
    dsp_status st = only_keys(r, o, path, allowed);
    if (st != DSP_OK) return st;
    const cJSON *v;
    snprintf(key, sizeof key, "%s.name", path);
    if ((st = get_str(r, cJSON_GetObjectItemCaseSensitive(o, "name"), key, &p->name)) != DSP_OK) return st;
    if ((v = cJSON_GetObjectItemCaseSensitive(o, "instructions"))) {
        snprintf(key, sizeof key, "%s.instructions", path);
        if ((st = get_str(r, v, key, &p->instructions)) != DSP_OK) return st;
    }
    if ((v = cJSON_GetObjectItemCaseSensitive(o, "lm"))) {
        snprintf(key, sizeof key, "%s.lm", path);
        if ((st = get_str(r, v, key, &p->lm)) != DSP_OK) return st;
    }
    if ((v = cJSON_GetObjectItemCaseSensitive(o, "model"))) {
        snprintf(key, sizeof key, "%s.model", path);
        if ((st = get_str(r, v, key, &p->model)) != DSP_OK) return st;
    }
    if ((v = cJSON_GetObjectItemCaseSensitive(o, "adapter"))) {
        snprintf(key, sizeof key, "%s.adapter", path);
        if (!cJSON_IsObject(v)) return bad(r, key, "expected an object with path and sha256");
        static const char *const ad_keys[] = {"name", "path", "sha256", NULL};
        if ((st = only_keys(r, v, key, ad_keys)) != DSP_OK) return st;
        cJSON *nm = cJSON_GetObjectItemCaseSensitive(v, "name");
        snprintf(key, sizeof key, "%s.adapter.name", path);
        if (nm && (st = get_str(r, nm, key, &p->adapter_name)) != DSP_OK)
            return st;
        snprintf(key, sizeof key, "%s.adapter.path", path);
        if ((st = get_str(r, cJSON_GetObjectItemCaseSensitive(v, "path"), key, &p->adapter_path)) != DSP_OK)
            return st;
        snprintf(key, sizeof key, "%s.adapter.sha256", path);
        if ((st = get_str(r, cJSON_GetObjectItemCaseSensitive(v, "sha256"), key, &p->adapter_sha256)) != DSP_OK)
            return st;
    }
    if ((v = cJSON_GetObjectItemCaseSensitive(o, "inputs"))) {
        snprintf(key, sizeof key, "%s.inputs", path);
        if ((st = read_names(r, v, key, &p->input_names, &p->n_input_names)) != DSP_OK) return st;
    }
    if ((v = cJSON_GetObjectItemCaseSensitive(o, "outputs"))) {
        snprintf(key, sizeof key, "%s.outputs", path);
        if ((st = read_names(r, v, key, &p->output_names, &p->n_output_names)) != DSP_OK) return st;
    }
    snprintf(key, sizeof key, "%s.demos", path);
    v = cJSON_GetObjectItemCaseSensitive(o, "demos");
    if (!v) return DSP_OK;
    return read_demos(r, v, key, path, p, &p->demos, &p->n_demos);
}

/* prompt_tokens, completion_tokens and cost_usd (a number, or null when
 * some call had no price: *cost is then -1) of object o at path. */
static dsp_status read_usage(rd *r, const cJSON *o, const char *path, long long *pt, long long *ct, double *cost)
{
    char key[128];
    dsp_status st;
    snprintf(key, sizeof key, "%s%sprompt_tokens", path, *path ? "." : "");
    if ((st = get_int(r, cJSON_GetObjectItemCaseSensitive(o, "prompt_tokens"), key, pt)) != DSP_OK) return st;
    snprintf(key, sizeof key, "%s%scompletion_tokens", path, *path ? "." : "");
    if ((st = get_int(r, cJSON_GetObjectItemCaseSensitive(o, "completion_tokens"), key, ct)) != DSP_OK) return st;
    const cJSON *c = cJSON_GetObjectItemCaseSensitive(o, "cost_usd");
    if (cJSON_IsNull(c)) {
        *cost = -1;
        return DSP_OK;
    }
    snprintf(key, sizeof key, "%s%scost_usd", path, *path ? "." : "");
    return get_num(r, c, key, cost);
}

static dsp_status read_trial(rd *r, const cJSON *o, size_t i, st_trial *t)
{
    char path[64], key[128];
    snprintf(path, sizeof path, "trials[%zu]", i);
    if (!cJSON_IsObject(o)) return bad(r, path, "expected an object");
    static const char *const allowed[] = {"trial",         "score",             "full_eval", "examples", "failed",
                                          "prompt_tokens", "completion_tokens", "cost_usd",  "config",   NULL};
    dsp_status st = only_keys(r, o, path, allowed);
    if (st != DSP_OK) return st;
    long long n;
    snprintf(key, sizeof key, "%s.trial", path);
    if ((st = get_int(r, cJSON_GetObjectItemCaseSensitive(o, "trial"), key, &n)) != DSP_OK) return st;
    t->trial = (int)n;
    snprintf(key, sizeof key, "%s.score", path);
    if ((st = get_num(r, cJSON_GetObjectItemCaseSensitive(o, "score"), key, &t->score)) != DSP_OK) return st;
    snprintf(key, sizeof key, "%s.full_eval", path);
    const cJSON *fe = cJSON_GetObjectItemCaseSensitive(o, "full_eval");
    if (!cJSON_IsBool(fe)) return bad(r, key, "expected true or false");
    t->full_eval = cJSON_IsTrue(fe);
    const cJSON *ex = cJSON_GetObjectItemCaseSensitive(o, "examples");
    const cJSON *fl = cJSON_GetObjectItemCaseSensitive(o, "failed");
    if (ex || fl) {
        /* Written together; a state from before them has neither. */
        t->has_counts = 1;
        snprintf(key, sizeof key, "%s.examples", path);
        if ((st = get_int(r, ex, key, &t->examples)) != DSP_OK) return st;
        snprintf(key, sizeof key, "%s.failed", path);
        if ((st = get_int(r, fl, key, &t->failed)) != DSP_OK) return st;
    }
    const cJSON *pt = cJSON_GetObjectItemCaseSensitive(o, "prompt_tokens");
    if (pt) {
        /* Written together; a state from before them has none. */
        t->has_usage = 1;
        if ((st = read_usage(r, o, path, &t->prompt_tokens, &t->completion_tokens, &t->cost_usd)) != DSP_OK)
            return st;
    }
    snprintf(key, sizeof key, "%s.config", path);
    return get_str(r, cJSON_GetObjectItemCaseSensitive(o, "config"), key, &t->config);
}

/* optimized_score .. failed_teacher_runs: all or none (older states). */
static dsp_status read_scores_detail(rd *r, const cJSON *root, st_state *s)
{
    const cJSON *v = cJSON_GetObjectItemCaseSensitive(root, "optimized_score");
    if (!v) return DSP_OK;
    s->has_scores_detail = 1;
    dsp_status st;
    if ((st = get_num(r, v, "optimized_score", &s->optimized_score)) != DSP_OK) return st;
    if ((st = get_str(r, cJSON_GetObjectItemCaseSensitive(root, "shipped"), "shipped", &s->shipped)) != DSP_OK)
        return st;
    if (strcmp(s->shipped, "optimized") != 0 && strcmp(s->shipped, "unoptimized") != 0 &&
        strcmp(s->shipped, "optimized, regression allowed") != 0)
        return bad(r, "shipped", "expected \"optimized\", \"unoptimized\" or \"optimized, regression allowed\"");
    if ((v = cJSON_GetObjectItemCaseSensitive(root, "shipped_reason")) &&
        (st = get_str(r, v, "shipped_reason", &s->shipped_reason)) != DSP_OK)
        return st;
    static const struct {
        const char *key;
        size_t off;
        int optional;
    } counts[] = {
        { "valset_examples", offsetof(st_state, valset_examples), 0 },
        { "search_examples", offsetof(st_state, search_examples), 1 },
        { "failed_examples", offsetof(st_state, failed_examples), 0 },
        { "teacher_runs", offsetof(st_state, teacher_runs), 0 },
        { "failed_teacher_runs", offsetof(st_state, failed_teacher_runs), 0 },
    };
    for (size_t i = 0; i < sizeof counts / sizeof counts[0]; i++) {
        v = cJSON_GetObjectItemCaseSensitive(root, counts[i].key);
        if (!v && counts[i].optional) continue;
        if ((st = get_int(r, v, counts[i].key, (long long *)((char *)s + counts[i].off))) != DSP_OK) return st;
    }
    return DSP_OK;
}

static dsp_status read_root(rd *r, const cJSON *root, st_state *s)
{
    if (!cJSON_IsObject(root)) return bad(r, "(top level)", "expected a JSON object");
    /* A JSON file from another program (package.json, a report): say so,
     * rather than complain about its first key. */
    if (!cJSON_GetObjectItemCaseSensitive(root, "dspcc_state"))
        return dsp_error_set(r->err, DSP_ERR_PARSE,
                             "%s: not a dspcc state file (no `dspcc_state` key); give the NAME.state.json that "
                             "`dspcc optimize -o` wrote",
                             r->file);
    static const char *const allowed[] = {"dspcc_state", "program",    "source",         "source_sha256",
                                          "optimizer",   "seed",       "metric",         "valset",
                                          "holdout_rows",
                                          "baseline_score", "final_score", "optimized_score",
                                          "shipped",     "shipped_reason", "valset_examples",
                                          "search_examples", "failed_examples", "teacher_runs",
                                          "failed_teacher_runs", "lm_calls", "prompt_tokens",
                                          "completion_tokens", "cost_usd",
                                          "predictors",  "trials",     NULL};
    dsp_status st = only_keys(r, root, "", allowed);
    if (st != DSP_OK) return st;
    long long version;
    if ((st = get_int(r, cJSON_GetObjectItemCaseSensitive(root, "dspcc_state"), "dspcc_state", &version)) != DSP_OK)
        return st;
    if (version != 1) return bad(r, "dspcc_state", "unsupported state version (this dspcc reads version 1)");
#define STR(k, f)                                                                                    \
    if ((st = get_str(r, cJSON_GetObjectItemCaseSensitive(root, k), k, &s->f)) != DSP_OK) return st
    STR("program", program);
    STR("source", source);
    STR("source_sha256", source_sha256);
    STR("optimizer", optimizer);
    STR("metric", metric);
#undef STR
    const cJSON *v;
    if ((v = cJSON_GetObjectItemCaseSensitive(root, "valset")) && (st = get_str(r, v, "valset", &s->valset)) != DSP_OK)
        return st;
    if ((v = cJSON_GetObjectItemCaseSensitive(root, "holdout_rows")) && (st = read_rows(r, v, s)) != DSP_OK)
        return st;
    if ((st = get_int(r, cJSON_GetObjectItemCaseSensitive(root, "seed"), "seed", &s->seed)) != DSP_OK) return st;
    if ((st = get_num(r, cJSON_GetObjectItemCaseSensitive(root, "baseline_score"), "baseline_score",
                      &s->baseline_score)) != DSP_OK)
        return st;
    if ((st = get_num(r, cJSON_GetObjectItemCaseSensitive(root, "final_score"), "final_score", &s->final_score)) !=
        DSP_OK)
        return st;
    if ((st = get_int(r, cJSON_GetObjectItemCaseSensitive(root, "lm_calls"), "lm_calls", &s->lm_calls)) != DSP_OK)
        return st;
    if (cJSON_GetObjectItemCaseSensitive(root, "prompt_tokens")) {
        s->has_usage = 1;
        if ((st = read_usage(r, root, "", &s->prompt_tokens, &s->completion_tokens, &s->cost_usd)) != DSP_OK)
            return st;
    }
    if ((st = read_scores_detail(r, root, s)) != DSP_OK)
        return st;

    const cJSON *preds = cJSON_GetObjectItemCaseSensitive(root, "predictors");
    if (!cJSON_IsArray(preds)) return bad(r, "predictors", "expected an array");
    size_t n = (size_t)cJSON_GetArraySize(preds);
    s->predictors = calloc(n ? n : 1, sizeof *s->predictors);
    if (!s->predictors) return dsp_error_set(r->err, DSP_ERR_NOMEM, "%s: out of memory", r->file);
    s->n_predictors = n;
    size_t i = 0;
    for (const cJSON *c = preds->child; c; c = c->next, i++) {
        if ((st = read_predictor(r, c, i, &s->predictors[i])) != DSP_OK) return st;
        if (i > 0 && strcmp(s->predictors[i - 1].name, s->predictors[i].name) >= 0) {
            char key[64];
            snprintf(key, sizeof key, "predictors[%zu].name", i);
            return bad(r, key, "predictors must be sorted by name, each once");
        }
    }

    const cJSON *trials = cJSON_GetObjectItemCaseSensitive(root, "trials");
    if (!trials) return DSP_OK;
    if (!cJSON_IsArray(trials)) return bad(r, "trials", "expected an array");
    n = (size_t)cJSON_GetArraySize(trials);
    s->trials = calloc(n ? n : 1, sizeof *s->trials);
    if (!s->trials) return dsp_error_set(r->err, DSP_ERR_NOMEM, "%s: out of memory", r->file);
    s->n_trials = n;
    i = 0;
    for (const cJSON *c = trials->child; c; c = c->next, i++)
        if ((st = read_trial(r, c, i, &s->trials[i])) != DSP_OK) return st;
    return DSP_OK;
}

dsp_status st_read_file(const char *path, st_state *out, dsp_error *err)
{
    memset(out, 0, sizeof *out);
    const char *why;
    FILE *f = fr_open_regular(path, &why);
    if (!f && errno == EINVAL)
        return dsp_error_set(err, DSP_ERR_IO, "%s: %s; give the state file dspcc optimize wrote (NAME.state.json)",
                             path, why);
    if (!f) return dsp_error_set(err, DSP_ERR_IO, "%s: cannot open the state file: %s", path, why);
    size_t cap = 4096, len = 0;
    char *text = malloc(cap);
    size_t got;
    while (text && (got = fread(text + len, 1, cap - len, f)) > 0) {
        len += got;
        if (len == cap) {
            char *p = realloc(text, cap * 2);
            if (!p) {
                free(text);
                text = NULL;
                break;
            }
            text = p;
            cap *= 2;
        }
    }
    int rerr = ferror(f);
    fclose(f);
    if (!text) return dsp_error_set(err, DSP_ERR_NOMEM, "%s: out of memory reading the state", path);
    if (rerr) {
        free(text);
        return dsp_error_set(err, DSP_ERR_IO, "%s: read error", path);
    }
    /* cJSON would cut a string at a \u0000 without a word; dspcc never
     * writes one (its strings are C strings), so it is a hand edit. */
    size_t at = dsp_json_nul_at(text, len);
    if (at < len) {
        free(text);
        return dsp_error_set(err, DSP_ERR_INVALID,
                             "%s: byte %zu: a NUL character (\\u0000); text in a state must not hold NULs", path, at);
    }
    const char *end = NULL;
    cJSON *root = cJSON_ParseWithLengthOpts(text, len, &end, 0);
    if (!root) {
        size_t off = end && end >= text ? (size_t)(end - text) : 0;
        size_t line = 1, col = 1;
        for (size_t k = 0; k < off && k < len; k++) {
            col++;
            if (text[k] == '\n') {
                line++;
                col = 1;
            }
        }
        free(text);
        return dsp_error_set(err, DSP_ERR_PARSE,
                             "%s:%zu:%zu: not valid JSON (a state file written by dspcc optimize; a hand edit "
                             "that left a stray or missing comma, quote or brace?)",
                             path, line, col);
    }
    free(text);
    rd r = {path, err};
    dsp_status st = read_root(&r, root, out);
    cJSON_Delete(root);
    if (st != DSP_OK) st_free(out);
    return st;
}

static void free_strs(char **v, size_t n)
{
    if (!v) return;
    for (size_t i = 0; i < n; i++) free(v[i]);
    free(v);
}

static void demos_free(st_demo *demos, size_t n)
{
    for (size_t d = 0; d < n; d++) {
        free_strs(demos[d].inputs, demos[d].n_inputs);
        free_strs(demos[d].outputs, demos[d].n_outputs);
    }
    free(demos);
}

void st_free(st_state *s)
{
    if (!s) return;
    for (size_t i = 0; i < s->n_predictors; i++) {
        st_predictor *p = &s->predictors[i];
        free(p->name);
        free(p->instructions);
        free(p->lm);
        free(p->model);
        free(p->adapter_name);
        free(p->adapter_path);
        free(p->adapter_sha256);
        free(p->knn_embedder);
        free(p->knn_vectors);
        for (size_t m = 0; m < p->n_members; m++) {
            free(p->members[m].instructions);
            demos_free(p->members[m].demos, p->members[m].n_demos);
        }
        free(p->members);
        free(p->ensemble_field);
        free_strs(p->input_names, p->n_input_names);
        free_strs(p->output_names, p->n_output_names);
        demos_free(p->demos, p->n_demos);
    }
    free(s->predictors);
    for (size_t i = 0; i < s->n_trials; i++) free(s->trials[i].config);
    free(s->trials);
    free(s->program);
    free(s->source);
    free(s->source_sha256);
    free(s->optimizer);
    free(s->metric);
    free(s->valset);
    free(s->holdout_rows);
    free(s->shipped);
    free(s->shipped_reason);
    memset(s, 0, sizeof *s);
}

const st_predictor *st_predictor_find(const st_state *s, const char *name)
{
    for (size_t i = 0; i < s->n_predictors; i++)
        if (strcmp(s->predictors[i].name, name) == 0) return &s->predictors[i];
    return NULL;
}
