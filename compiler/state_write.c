/* state_write.c — the canonical text of an optimized state (state.h).
 *
 * Hand-rolled rather than cJSON_Print because the text is reviewed in
 * version control: keys in a fixed order, two-space indentation, one demo
 * field per line, numbers in the shortest form that reads back exactly.
 * The same state always gives the same bytes. Strings are written with
 * only the escapes JSON requires, so bytes >= 0x80 (including invalid
 * UTF-8) pass through unchanged and read back identically with cJSON.
 */
#include <errno.h>
#include <math.h>
#include <stdarg.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/stat.h>
#include <unistd.h>

#include "file_write.h"
#include "state.h"
#include "strbuf.h"

static void sb_indent(strbuf *b, int level)
{
    for (int i = 0; i < level; i++) sb_put(b, "  ", 2);
}

static void sb_jstr(strbuf *b, const char *s)
{
    sb_put(b, "\"", 1);
    for (const unsigned char *c = (const unsigned char *)s; *c; c++) {
        char esc[8];
        switch (*c) {
        case '"': sb_put(b, "\\\"", 2); break;
        case '\\': sb_put(b, "\\\\", 2); break;
        case '\n': sb_put(b, "\\n", 2); break;
        case '\t': sb_put(b, "\\t", 2); break;
        case '\r': sb_put(b, "\\r", 2); break;
        default:
            if (*c < 0x20) {
                snprintf(esc, sizeof esc, "\\u%04x", *c);
                sb_put(b, esc, 6);
            } else {
                sb_put(b, (const char *)c, 1);
            }
        }
    }
    sb_put(b, "\"", 1);
}

static void sb_ll(strbuf *b, long long v)
{
    char tmp[32];
    snprintf(tmp, sizeof tmp, "%lld", v);
    sb_puts(b, tmp);
}

/* `"key": ` at an indentation level. */
static void sb_key(strbuf *b, int level, const char *key)
{
    sb_indent(b, level);
    sb_jstr(b, key);
    sb_put(b, ": ", 2);
}

static void sb_name_list(strbuf *b, char *const *names, size_t n)
{
    sb_put(b, "[", 1);
    for (size_t i = 0; i < n; i++) {
        if (i) sb_put(b, ", ", 2);
        sb_jstr(b, names[i]);
    }
    sb_put(b, "]", 1);
}

/* { "name": "value", ... } with one field per line, absent fields left out. */
static void sb_demo_fields(strbuf *b, int level, char *const *names, char *const *values, size_t n)
{
    int any = 0;
    for (size_t i = 0; i < n; i++)
        if (values[i]) any = 1;
    if (!any) {
        sb_puts(b, "{}");
        return;
    }
    sb_puts(b, "{\n");
    int first = 1;
    for (size_t i = 0; i < n; i++) {
        if (!values[i]) continue;
        if (!first) sb_puts(b, ",\n");
        first = 0;
        sb_key(b, level + 1, names[i]);
        sb_jstr(b, values[i]);
    }
    sb_puts(b, "\n");
    sb_indent(b, level);
    sb_puts(b, "}");
}

static dsp_status check_state(const st_state *s, dsp_error *err)
{
    if (!s->program || !s->source || !s->source_sha256 || !s->optimizer || !s->metric)
        return dsp_error_set(err, DSP_ERR_INVALID,
                             "state: program, source, source_sha256, optimizer and metric must be set");
    if (!isfinite(s->baseline_score) || !isfinite(s->final_score) ||
        (s->has_scores_detail && !isfinite(s->optimized_score)))
        return dsp_error_set(err, DSP_ERR_INVALID, "state: scores must be finite numbers");
    for (size_t i = 0; i < s->n_predictors; i++) {
        const st_predictor *p = &s->predictors[i];
        if (!p->name) return dsp_error_set(err, DSP_ERR_INVALID, "state: predictor %zu has no name", i);
        if (i > 0 && strcmp(s->predictors[i - 1].name, p->name) >= 0)
            return dsp_error_set(err, DSP_ERR_INVALID,
                                 "state: predictors must be sorted by name and unique (`%s` after `%s`)",
                                 p->name, s->predictors[i - 1].name);
        if (!p->adapter_path != !p->adapter_sha256)
            return dsp_error_set(err, DSP_ERR_INVALID,
                                 "state: predictor `%s`: adapter_path and adapter_sha256 go together", p->name);
        if (p->n_demos && ((p->n_input_names && !p->input_names) || (p->n_output_names && !p->output_names)))
            return dsp_error_set(err, DSP_ERR_INVALID,
                                 "state: predictor `%s` has demos but no input_names/output_names", p->name);
        for (size_t k = 0; k < p->n_input_names; k++)
            if (!p->input_names[k])
                return dsp_error_set(err, DSP_ERR_INVALID, "state: predictor `%s`: input name %zu is NULL",
                                     p->name, k);
        for (size_t k = 0; k < p->n_output_names; k++)
            if (!p->output_names[k])
                return dsp_error_set(err, DSP_ERR_INVALID, "state: predictor `%s`: output name %zu is NULL",
                                     p->name, k);
        if (p->n_members && (!p->ensemble_field || !p->members || (!p->input_names && p->n_input_names) ||
                             (!p->output_names && p->n_output_names)))
            return dsp_error_set(err, DSP_ERR_INVALID,
                                 "state: predictor `%s`: an ensemble needs its field, members and field names",
                                 p->name);
        if (p->knn_k && (!p->n_demos || !p->knn_embedder || !p->knn_dim || !p->knn_vectors))
            return dsp_error_set(err, DSP_ERR_INVALID,
                                 "state: predictor `%s`: knn needs demos, an embedder and their vectors", p->name);
        for (size_t d = 0; d < p->n_demos; d++) {
            const st_demo *dm = &p->demos[d];
            if (dm->n_inputs != p->n_input_names || dm->n_outputs != p->n_output_names)
                return dsp_error_set(err, DSP_ERR_INVALID,
                                     "state: predictor `%s` demo %zu has %zu inputs and %zu outputs, "
                                     "expected %zu and %zu (input_names/output_names)",
                                     p->name, d, dm->n_inputs, dm->n_outputs, p->n_input_names,
                                     p->n_output_names);
        }
    }
    for (size_t i = 0; i < s->n_trials; i++)
        if (!isfinite(s->trials[i].score))
            return dsp_error_set(err, DSP_ERR_INVALID, "state: trial %d has a non-finite score",
                                 s->trials[i].trial);
    return DSP_OK;
}

/* A list of demos whose key is at indent `level`: "[]", or one object per
 * demo with one field per line, the closing bracket at `level`. */
static void write_demos(strbuf *b, int level, const st_predictor *p, const st_demo *demos, size_t n)
{
    if (!n) {
        sb_puts(b, "[]");
        return;
    }
    sb_puts(b, "[\n");
    for (size_t d = 0; d < n; d++) {
        const st_demo *dm = &demos[d];
        sb_indent(b, level + 1);
        sb_puts(b, "{\n");
        sb_key(b, level + 2, "inputs");
        sb_demo_fields(b, level + 2, p->input_names, dm->inputs, dm->n_inputs);
        sb_puts(b, ",\n");
        sb_key(b, level + 2, "outputs");
        sb_demo_fields(b, level + 2, p->output_names, dm->outputs, dm->n_outputs);
        sb_puts(b, "\n");
        sb_indent(b, level + 1);
        sb_puts(b, d + 1 < n ? "},\n" : "}\n");
    }
    sb_indent(b, level);
    sb_puts(b, "]");
}

/* An ensemble's field and members, each member's prompt in full. */
static void write_ensemble(strbuf *b, const st_predictor *p)
{
    sb_key(b, 3, "ensemble");
    sb_puts(b, "{ \"field\": ");
    sb_jstr(b, p->ensemble_field);
    if (p->ensemble_size > 0) {
        sb_puts(b, ", \"size\": ");
        sb_ll(b, p->ensemble_size);
        sb_puts(b, ", \"seed\": ");
        sb_ll(b, p->ensemble_seed);
    }
    sb_puts(b, ", \"members\": [\n");
    for (size_t m = 0; m < p->n_members; m++) {
        const st_member *mb = &p->members[m];
        sb_indent(b, 4);
        sb_puts(b, "{\n");
        if (mb->instructions) {
            sb_key(b, 5, "instructions");
            sb_jstr(b, mb->instructions);
            sb_puts(b, ",\n");
        }
        sb_key(b, 5, "demos");
        write_demos(b, 5, p, mb->demos, mb->n_demos);
        sb_puts(b, "\n");
        sb_indent(b, 4);
        sb_puts(b, m + 1 < p->n_members ? "},\n" : "}\n");
    }
    sb_indent(b, 3);
    sb_puts(b, "] }");
}

/* A float as nine significant digits: the same float when read back. */
static void sb_float(strbuf *b, float f)
{
    sb_printf(b, "%.9g", (double)f);
}

/* knn_fewshot's pool vectors, one demo's per line. */
static void write_knn(strbuf *b, const st_predictor *p)
{
    sb_key(b, 3, "knn");
    sb_printf(b, "{ \"k\": %d, \"embedder\": ", p->knn_k);
    sb_jstr(b, p->knn_embedder);
    if (p->knn_dimensions)
        sb_printf(b, ", \"dimensions\": %d", p->knn_dimensions);
    sb_printf(b, ", \"dim\": %zu,\n", p->knn_dim);
    sb_indent(b, 4);
    sb_puts(b, "\"vectors\": [\n");
    for (size_t d = 0; d < p->n_demos; d++) {
        sb_indent(b, 5);
        sb_puts(b, "[");
        for (size_t j = 0; j < p->knn_dim; j++) {
            if (j)
                sb_puts(b, ", ");
            sb_float(b, p->knn_vectors[d * p->knn_dim + j]);
        }
        sb_puts(b, d + 1 < p->n_demos ? "],\n" : "]\n");
    }
    sb_indent(b, 4);
    sb_puts(b, "] }");
}

static void write_predictor(strbuf *b, const st_predictor *p)
{
    sb_indent(b, 2);
    sb_puts(b, "{\n");
    sb_key(b, 3, "name");
    sb_jstr(b, p->name);
    if (p->instructions) {
        sb_puts(b, ",\n");
        sb_key(b, 3, "instructions");
        sb_jstr(b, p->instructions);
    }
    if (p->lm) {
        sb_puts(b, ",\n");
        sb_key(b, 3, "lm");
        sb_jstr(b, p->lm);
    }
    if (p->model) {
        sb_puts(b, ",\n");
        sb_key(b, 3, "model");
        sb_jstr(b, p->model);
    }
    if (p->adapter_path) {
        sb_puts(b, ",\n");
        sb_key(b, 3, "adapter");
        sb_puts(b, "{ ");
        if (p->adapter_name) {
            sb_puts(b, "\"name\": ");
            sb_jstr(b, p->adapter_name);
            sb_puts(b, ", ");
        }
        sb_puts(b, "\"path\": ");
        sb_jstr(b, p->adapter_path);
        sb_puts(b, ", \"sha256\": ");
        sb_jstr(b, p->adapter_sha256);
        sb_puts(b, " }");
    }
    if (p->n_demos || p->n_members) {
        sb_puts(b, ",\n");
        sb_key(b, 3, "inputs");
        sb_name_list(b, p->input_names, p->n_input_names);
        sb_puts(b, ",\n");
        sb_key(b, 3, "outputs");
        sb_name_list(b, p->output_names, p->n_output_names);
    }
    sb_puts(b, ",\n");
    sb_key(b, 3, "demos");
    write_demos(b, 3, p, p->demos, p->n_demos);
    if (p->knn_k) {
        sb_puts(b, ",\n");
        write_knn(b, p);
    }
    if (p->n_members) {
        sb_puts(b, ",\n");
        write_ensemble(b, p);
    }
    sb_puts(b, "\n");
    sb_indent(b, 2);
    sb_puts(b, "}");
}

/* `"key": N,` on a line of its own. */
static void sb_ll_line(strbuf *b, const char *key, long long v)
{
    sb_key(b, 1, key);
    sb_ll(b, v);
    sb_puts(b, ",\n");
}

/* What shipped and why, the examples behind the scores, and the failures. */
static void write_scores_detail(strbuf *b, const st_state *s)
{
    sb_key(b, 1, "optimized_score");
    sb_put_double(b, s->optimized_score);
    sb_puts(b, ",\n");
    sb_key(b, 1, "shipped");
    sb_jstr(b, s->shipped ? s->shipped : "optimized");
    sb_puts(b, ",\n");
    if (s->shipped_reason) {
        sb_key(b, 1, "shipped_reason");
        sb_jstr(b, s->shipped_reason);
        sb_puts(b, ",\n");
    }
    sb_ll_line(b, "valset_examples", s->valset_examples);
    if (s->search_examples)
        sb_ll_line(b, "search_examples", s->search_examples);
    sb_ll_line(b, "failed_examples", s->failed_examples);
    sb_ll_line(b, "teacher_runs", s->teacher_runs);
    sb_ll_line(b, "failed_teacher_runs", s->failed_teacher_runs);
}

dsp_status st_write_text(const st_state *s, char **out, size_t *len, dsp_error *err)
{
    *out = NULL;
    if (len) *len = 0;
    dsp_status st = check_state(s, err);
    if (st != DSP_OK) return st;

    strbuf b = {0};
    sb_puts(&b, "{\n");
    sb_key(&b, 1, "dspcc_state");
    sb_puts(&b, "1,\n");
    sb_key(&b, 1, "program");
    sb_jstr(&b, s->program);
    sb_puts(&b, ",\n");
    sb_key(&b, 1, "source");
    sb_jstr(&b, s->source);
    sb_puts(&b, ",\n");
    sb_key(&b, 1, "source_sha256");
    sb_jstr(&b, s->source_sha256);
    sb_puts(&b, ",\n");
    sb_key(&b, 1, "optimizer");
    sb_jstr(&b, s->optimizer);
    sb_puts(&b, ",\n");
    sb_key(&b, 1, "seed");
    sb_ll(&b, s->seed);
    sb_puts(&b, ",\n");
    sb_key(&b, 1, "metric");
    sb_jstr(&b, s->metric);
    sb_puts(&b, ",\n");
    if (s->valset) {
        sb_key(&b, 1, "valset");
        sb_jstr(&b, s->valset);
        sb_puts(&b, ",\n");
    }
    if (s->n_holdout_rows) {
        sb_key(&b, 1, "holdout_rows");
        sb_puts(&b, "[");
        for (size_t i = 0; i < s->n_holdout_rows; i++) {
            if (i) sb_puts(&b, ", ");
            sb_ll(&b, s->holdout_rows[i]);
        }
        sb_puts(&b, "],\n");
    }
    sb_key(&b, 1, "baseline_score");
    sb_put_double(&b, s->baseline_score);
    sb_puts(&b, ",\n");
    sb_key(&b, 1, "final_score");
    sb_put_double(&b, s->final_score);
    sb_puts(&b, ",\n");
    if (s->has_scores_detail)
        write_scores_detail(&b, s);
    sb_key(&b, 1, "lm_calls");
    sb_ll(&b, s->lm_calls);
    sb_puts(&b, ",\n");
    if (s->has_usage) {
        sb_key(&b, 1, "prompt_tokens");
        sb_ll(&b, s->prompt_tokens);
        sb_puts(&b, ",\n");
        sb_key(&b, 1, "completion_tokens");
        sb_ll(&b, s->completion_tokens);
        sb_puts(&b, ",\n");
        sb_key(&b, 1, "cost_usd");
        if (s->cost_usd < 0)
            sb_puts(&b, "null");
        else
            sb_put_double(&b, s->cost_usd);
        sb_puts(&b, ",\n");
    }
    sb_key(&b, 1, "predictors");
    if (!s->n_predictors) {
        sb_puts(&b, "[],\n");
    } else {
        sb_puts(&b, "[\n");
        for (size_t i = 0; i < s->n_predictors; i++) {
            write_predictor(&b, &s->predictors[i]);
            sb_puts(&b, i + 1 < s->n_predictors ? ",\n" : "\n");
        }
        sb_indent(&b, 1);
        sb_puts(&b, "],\n");
    }
    sb_key(&b, 1, "trials");
    if (!s->n_trials) {
        sb_puts(&b, "[]\n");
    } else {
        sb_puts(&b, "[\n");
        for (size_t i = 0; i < s->n_trials; i++) {
            const st_trial *t = &s->trials[i];
            sb_indent(&b, 2);
            sb_puts(&b, "{ \"trial\": ");
            sb_ll(&b, t->trial);
            sb_puts(&b, ", \"score\": ");
            sb_put_double(&b, t->score);
            sb_puts(&b, t->full_eval ? ", \"full_eval\": true" : ", \"full_eval\": false");
            if (t->has_counts) {
                sb_puts(&b, ", \"examples\": ");
                sb_ll(&b, t->examples);
                sb_puts(&b, ", \"failed\": ");
                sb_ll(&b, t->failed);
            }
            if (t->has_usage) {
                sb_puts(&b, ", \"prompt_tokens\": ");
                sb_ll(&b, t->prompt_tokens);
                sb_puts(&b, ", \"completion_tokens\": ");
                sb_ll(&b, t->completion_tokens);
                sb_puts(&b, ", \"cost_usd\": ");
                if (t->cost_usd < 0)
                    sb_puts(&b, "null");
                else
                    sb_put_double(&b, t->cost_usd);
            }
            sb_puts(&b, ", \"config\": ");
            sb_jstr(&b, t->config ? t->config : "");
            sb_puts(&b, i + 1 < s->n_trials ? " },\n" : " }\n");
        }
        sb_indent(&b, 1);
        sb_puts(&b, "]\n");
    }
    sb_puts(&b, "}\n");
    if (b.oom) {
        free(b.p);
        return dsp_error_set(err, DSP_ERR_NOMEM, "state: out of memory writing the state text");
    }
    *out = b.p;
    if (len) *len = b.len;
    return DSP_OK;
}

dsp_status st_write_file(const st_state *s, const char *path, dsp_error *err)
{
    char *text = NULL;
    size_t len = 0;
    dsp_status st = st_write_text(s, &text, &len, err);
    if (st != DSP_OK) return st;

    /* A state is an ordinary source file, reviewed in version control. */
    char why[FW_WHY_MAX];
    if (fw_write_file(path, text, len, 0644, why) != 0)
        st = dsp_error_set(err, DSP_ERR_IO, "%s", why);
    free(text);
    return st;
}
