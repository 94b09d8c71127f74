/* sample.c — best_of_n, refine and majority over one predictor (dsp/sample.h). */
#include <ctype.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include "client_settings.h"
#include "dsp/batch.h"
#include "dsp/sample.h"
#include "textbuf.h"

/* Trimmed, case-insensitive equality of two texts. */
static bool same_text(const char *a, const char *b)
{
    while (isspace((unsigned char)*a))
        a++;
    while (isspace((unsigned char)*b))
        b++;
    size_t la = strlen(a), lb = strlen(b);
    while (la && isspace((unsigned char)a[la - 1]))
        la--;
    while (lb && isspace((unsigned char)b[lb - 1]))
        lb--;
    if (la != lb)
        return false;
    for (size_t i = 0; i < la; i++)
        if (tolower((unsigned char)a[i]) != tolower((unsigned char)b[i]))
            return false;
    return true;
}

size_t dsp_majority_index(const char *const *texts, size_t n)
{
    size_t best = n, best_votes = 0;
    for (size_t i = 0; i < n; i++) {
        if (!texts[i])
            continue;
        size_t votes = 0;
        for (size_t k = 0; k < n; k++)
            votes += texts[k] && same_text(texts[i], texts[k]);
        if (votes > best_votes)
            best = i, best_votes = votes;
    }
    return best;
}

/* The note refine adds to the instructions after a sample fell short. */
static char *feedback(const dsp_predictor *p, const char *base, const dsp_value *out, double reward, double threshold)
{
    dsp_textbuf tb;
    dsp_tb_init(&tb);
    if (base && *base) {
        dsp_tb_puts(&tb, base);
        dsp_tb_puts(&tb, "\n\n");
    }
    dsp_tb_printf(&tb, "A previous attempt scored %g, below the %g needed. It answered:", reward, threshold);
    size_t n = dsp_strategy_n_outputs(p->signature, p->strategy);
    for (size_t i = 0; i < n; i++) {
        const dsp_field *f = dsp_strategy_output(p->signature, p->strategy, i);
        char *text = NULL;
        if (dsp_value_format(&out[i], f->type, &text, NULL, NULL) == DSP_OK) {
            dsp_tb_printf(&tb, "\n%s: ", f->name);
            dsp_tb_puts(&tb, text);
        }
        free(text);
    }
    dsp_tb_puts(&tb, "\nGive a better answer.");
    return dsp_tb_take(&tb, NULL);
}

static bool parse_failure(dsp_status st)
{
    return st == DSP_ERR_PARSE;
}

/* The options of sample i (0-based): its own temperature (the options',
 * else the lm's, when above 0, else 1.0), rollout id and seed. */
static dsp_predict_options sample_options(const dsp_predictor *p, const dsp_predict_options *base, size_t i)
{
    dsp_predict_options po = base ? *base : dsp_predict_options_default();
    if (!po.has_temperature || po.temperature <= 0) {
        const dsp_lm_config *lm = dsp_predict_lm_of(p, &po);
        po.has_temperature = true;
        po.temperature = lm && lm->params.temperature > 0 ? lm->params.temperature : 1.0;
    }
    po.rollout_id = po.rollout_id * 1000 + i + 1;
    po.has_seed = true;
    po.seed = (int64_t)i + 1;
    return po;
}

/* A sample made ahead, when a call's samples run at once. */
typedef struct presample {
    dsp_status st;
    dsp_error err;
    dsp_predict_trace tr;
} presample;

typedef struct sample_batch {
    dsp_client *c;
    const dsp_predictor *p;
    const dsp_predict_options *given;
    const dsp_value *inputs;
    dsp_value *rows; /* n_out values a sample */
    size_t n_out;
    presample *pre;
    bool trace;
} sample_batch;

static int sample_one(void *ctx, size_t i)
{
    sample_batch *b = ctx;
    dsp_predict_options po = sample_options(b->p, b->given, i);
    b->pre[i].st = dsp_predict_ex(b->c, b->p, &po, b->inputs, &b->rows[i * b->n_out], b->trace ? &b->pre[i].tr : NULL,
                                  &b->pre[i].err);
    return 0;
}

/* The n samples of a call made at once, up to the client's max_in_flight
 * on the wire: each is its own request (rollout id, seed), so which one
 * finishes first changes nothing, and the caller reads them in order.
 * NULL when out of memory (the caller then samples one after another). */
static presample *sample_all(dsp_client *c, const dsp_predictor *p, const dsp_predict_options *given,
                             const dsp_sample_options *o, const dsp_value *inputs, dsp_value *rows, size_t n_out,
                             size_t n)
{
    presample *pre = calloc(n, sizeof *pre);
    if (!pre)
        return NULL;
    for (size_t i = 0; i < n; i++)
        dsp_predict_trace_init(&pre[i].tr);
    int threads = dsp_client_settings(c).max_in_flight;
    sample_batch b = { c, p, given, inputs, rows, n_out, pre, o && o->observe };
    /* On the event loop: in a job of a batch the samples join its loop. */
    (void)dsp_loop_run_each(n, threads < (int)n ? threads : (int)n, sample_one, &b);
    return pre;
}

static void presamples_free(presample *pre, size_t n)
{
    for (size_t i = 0; pre && i < n; i++) {
        dsp_error_clear(&pre[i].err);
        dsp_predict_trace_free(&pre[i].tr);
    }
    free(pre);
}

/* Whether a call's samples run at once: not refine's (each reads the
 * feedback on the one before), and not on a client that sends one request
 * at a time (there they go in order, and best_of_n stops at the first that
 * reaches its threshold). The kept sample is the same either way. */
static bool at_once(dsp_client *c, dsp_pick pick, size_t n)
{
    return pick != DSP_PICK_REFINE && n > 1 && c && dsp_client_settings(c).max_in_flight > 1;
}

/* Shows a sample made ahead to the observer, as observed() does; moves its
 * error into *e. */
static dsp_status observed_pre(presample *ps_, const dsp_predictor *p, const dsp_sample_options *o,
                               const dsp_value *in, dsp_value *out, dsp_error *e, dsp_error *err,
                               bool *observer_failed)
{
    dsp_status ps = ps_->st;
    *e = ps_->err;
    memset(&ps_->err, 0, sizeof ps_->err);
    *observer_failed = false;
    if (o && o->observe) {
        dsp_status os = o->observe(o->observe_ctx, p, ps, in, ps == DSP_OK ? out : NULL, &ps_->tr, err);
        if (os != DSP_OK) {
            if (ps == DSP_OK)
                dsp_values_free(out, dsp_strategy_n_outputs(p->signature, p->strategy));
            *observer_failed = true;
            ps = os;
        }
    }
    return ps;
}

/* One call with its trace shown to the observer; a failure of the observer
 * wins over the call's status. */
static dsp_status observed(dsp_client *c, const dsp_predictor *p, const dsp_predict_options *po,
                           const dsp_sample_options *o, const dsp_value *in, dsp_value *out, dsp_error *e,
                           dsp_error *err, bool *observer_failed)
{
    dsp_predict_trace tr;
    dsp_predict_trace_init(&tr);
    dsp_status ps = dsp_predict_ex(c, p, po, in, out, o && o->observe ? &tr : NULL, e);
    *observer_failed = false;
    if (o && o->observe) {
        dsp_status os = o->observe(o->observe_ctx, p, ps, in, ps == DSP_OK ? out : NULL, &tr, err);
        if (os != DSP_OK) {
            if (ps == DSP_OK)
                dsp_values_free(out, dsp_strategy_n_outputs(p->signature, p->strategy));
            *observer_failed = true;
            ps = os;
        }
    }
    dsp_predict_trace_free(&tr);
    return ps;
}

dsp_status dsp_sample_run(dsp_client *c, const dsp_predictor *p, const dsp_sampling *s, const dsp_sample_options *o,
                          const dsp_value *inputs, dsp_value *outputs, dsp_error *err)
{
    if (!p || !s || s->n < 1 || s->n > 100 || (s->pick != DSP_PICK_MAJORITY && !s->reward))
        return dsp_error_set(err, DSP_ERR_INVALID, "sampling %s: n must be 1 to 100, and best_of_n and refine need a reward",
                             p && p->name ? p->name : "?");
    size_t n_out = dsp_strategy_n_outputs(p->signature, p->strategy);
    if (s->pick == DSP_PICK_MAJORITY && s->field >= n_out)
        return dsp_error_set(err, DSP_ERR_INVALID, "majority %s: no output %zu", p->name ? p->name : "?", s->field);
    const dsp_predict_options *given = o ? o->predict : NULL;
    const char *instructions = given && given->instructions ? given->instructions : p->signature->instructions;
    size_t n = (size_t)s->n;
    dsp_value *rows = calloc(n * n_out + 1, sizeof *rows);
    char **texts = calloc(n + 1, sizeof *texts);
    char *note = NULL;
    dsp_status st = DSP_OK, last_fail = DSP_OK;
    dsp_error fail_err = { 0 };
    if (!rows || !texts)
        st = dsp_error_set(err, DSP_ERR_NOMEM, "out of memory");
    size_t best = n;
    double best_reward = 0;
    presample *pre = st == DSP_OK && at_once(c, s->pick, n) ? sample_all(c, p, given, o, inputs, rows, n_out, n) : NULL;
    size_t done = 0; /* samples shown to the observer */
    for (size_t i = 0; i < n && st == DSP_OK; i++) {
        dsp_predict_options po = sample_options(p, given, i);
        if (note)
            po.instructions = note;
        dsp_value *out = &rows[i * n_out];
        dsp_error e = { 0 };
        bool obs_failed;
        dsp_status ps = pre ? observed_pre(&pre[i], p, o, inputs, out, &e, err, &obs_failed)
                            : observed(c, p, &po, o, inputs, out, &e, err, &obs_failed);
        done = i + 1;
        if (obs_failed) {
            st = ps;
            dsp_error_clear(&e);
            break;
        }
        if (ps != DSP_OK) {
            if (!parse_failure(ps)) {
                st = ps;
                if (err) {
                    dsp_error_clear(err);
                    *err = e;
                } else {
                    dsp_error_clear(&e);
                }
                break;
            }
            last_fail = ps;
            dsp_error_clear(&fail_err);
            fail_err = e;
            continue;
        }
        dsp_error_clear(&e);
        if (s->pick == DSP_PICK_MAJORITY) {
            const dsp_field *f = dsp_strategy_output(p->signature, p->strategy, s->field);
            if (dsp_value_format(&out[s->field], f->type, &texts[i], NULL, err) != DSP_OK)
                st = err ? err->status : DSP_ERR_NOMEM;
            continue;
        }
        double r = 0;
        st = s->reward(o ? o->reward_ctx : NULL, inputs, out, &r, err);
        if (st != DSP_OK)
            break;
        if (best == n || r > best_reward)
            best = i, best_reward = r;
        if (s->has_threshold && r >= s->threshold)
            break;
        if (s->pick == DSP_PICK_REFINE && s->has_threshold) {
            free(note);
            note = feedback(p, instructions, out, r, s->threshold);
            if (!note)
                st = dsp_error_set(err, DSP_ERR_NOMEM, "out of memory");
        }
    }
    /* Samples made ahead that the loop did not reach still count (usage). */
    for (size_t i = done; pre && i < n; i++) {
        dsp_error e = { 0 }, oerr = { 0 };
        bool obs_failed;
        (void)observed_pre(&pre[i], p, o, inputs, &rows[i * n_out], &e, &oerr, &obs_failed);
        dsp_error_clear(&e);
        if (obs_failed && st == DSP_OK) {
            st = oerr.status;
            if (err) {
                dsp_error_clear(err);
                *err = oerr;
                memset(&oerr, 0, sizeof oerr);
            }
        }
        dsp_error_clear(&oerr);
    }
    presamples_free(pre, n);
    if (st == DSP_OK && s->pick == DSP_PICK_MAJORITY)
        best = dsp_majority_index((const char *const *)texts, n);
    if (st == DSP_OK && best == n) {
        st = last_fail != DSP_OK ? last_fail : DSP_ERR_PARSE;
        if (err) {
            dsp_error_clear(err);
            *err = fail_err;
            memset(&fail_err, 0, sizeof fail_err);
            if (!err->message[0])
                dsp_error_set(err, st, "%s: no sample could be read", p->name ? p->name : "?");
        }
    }
    if (st == DSP_OK) {
        /* Hand over the chosen sample's values. */
        memcpy(outputs, &rows[best * n_out], n_out * sizeof *outputs);
        memset(&rows[best * n_out], 0, n_out * sizeof *rows);
    }
    for (size_t i = 0; rows && i < n; i++) {
        dsp_values_free(&rows[i * n_out], n_out);
        if (texts)
            free(texts[i]);
    }
    dsp_error_clear(&fail_err);
    free(rows);
    free(texts);
    free(note);
    return st;
}

/* "«REASONING I'm not sure but my prediction is OUT1; OUT2»" (NULL: out of memory). */
static char *attempt_text(const dsp_predictor *p, const dsp_value *out)
{
    dsp_textbuf tb;
    dsp_tb_init(&tb);
    size_t n = dsp_strategy_n_outputs(p->signature, p->strategy);
    dsp_tb_puts(&tb, "\u00ab");
    for (size_t i = 0; i < n; i++) {
        char *text = NULL;
        if (dsp_value_format(&out[i], dsp_strategy_output(p->signature, p->strategy, i)->type, &text, NULL, NULL) !=
            DSP_OK) {
            dsp_tb_free(&tb);
            return NULL;
        }
        dsp_tb_puts(&tb, i == 0 ? "" : i == 1 ? " I'm not sure but my prediction is " : "; ");
        dsp_tb_puts(&tb, text);
        free(text);
    }
    dsp_tb_puts(&tb, "\u00bb");
    return dsp_tb_take(&tb, NULL);
}

dsp_status dsp_mcc_run(dsp_client *c, const dsp_mcc *x, const dsp_sample_options *o,
                       const dsp_predict_options *compare_opts, const dsp_value *inputs, dsp_value *outputs,
                       dsp_error *err)
{
    if (!x || !x->attempt || !x->compare || x->m < 1 || x->m > 20 ||
        x->attempt->strategy != DSP_STRATEGY_CHAIN_OF_THOUGHT ||
        x->compare->signature->n_inputs != x->attempt->signature->n_inputs + (size_t)x->m)
        return dsp_error_set(err, DSP_ERR_INVALID,
                             "multi_chain_comparison: a chain-of-thought attempt predictor, m from 1 to 20 and a "
                             "compare predictor taking the inputs and m attempts are required");
    size_t n_in = x->attempt->signature->n_inputs, m = (size_t)x->m;
    size_t n_out = dsp_strategy_n_outputs(x->attempt->signature, x->attempt->strategy);
    dsp_value *in = calloc(n_in + m + 1, sizeof *in);
    dsp_value *out = calloc(n_out * m + 1, sizeof *out); /* one row a attempt */
    dsp_status st = in && out ? DSP_OK : dsp_error_set(err, DSP_ERR_NOMEM, "out of memory");
    for (size_t i = 0; in && i < n_in; i++)
        in[i] = inputs[i]; /* borrowed: only the attempts' slots are ours */
    size_t read = 0, done = 0;
    dsp_status last_fail = DSP_ERR_PARSE;
    presample *pre = st == DSP_OK && at_once(c, DSP_PICK_BEST_OF_N, m)
                         ? sample_all(c, x->attempt, o ? o->predict : NULL, o, inputs, out, n_out, m)
                         : NULL;
    for (size_t i = 0; i < m && st == DSP_OK; i++) {
        dsp_predict_options po = sample_options(x->attempt, o ? o->predict : NULL, i);
        dsp_error e = { 0 };
        bool obs_failed;
        dsp_value *row = &out[i * n_out];
        dsp_status ps = pre ? observed_pre(&pre[i], x->attempt, o, inputs, row, &e, err, &obs_failed)
                            : observed(c, x->attempt, &po, o, inputs, row, &e, err, &obs_failed);
        done = i + 1;
        if (obs_failed || (ps != DSP_OK && !parse_failure(ps))) {
            st = ps;
            if (!obs_failed && err) {
                dsp_error_clear(err);
                *err = e;
            } else {
                dsp_error_clear(&e);
            }
            break;
        }
        char *text = NULL;
        if (ps == DSP_OK) {
            text = attempt_text(x->attempt, row);
            dsp_values_free(row, n_out);
            read++;
        } else {
            last_fail = ps;
            text = strdup("\u00abthis attempt could not be read\u00bb");
        }
        dsp_error_clear(&e);
        if (!text)
            st = dsp_error_set(err, DSP_ERR_NOMEM, "out of memory");
        else
            st = dsp_value_set_string(&in[n_in + i], text, strlen(text), err);
        free(text);
    }
    for (size_t i = done; pre && i < m; i++) {
        /* Attempts made ahead that the loop did not reach still count. */
        dsp_error e = { 0 }, oerr = { 0 };
        bool obs_failed;
        (void)observed_pre(&pre[i], x->attempt, o, inputs, &out[i * n_out], &e, &oerr, &obs_failed);
        dsp_error_clear(&e);
        dsp_error_clear(&oerr);
    }
    presamples_free(pre, m);
    for (size_t i = 0; out && i < m; i++)
        dsp_values_free(&out[i * n_out], n_out);
    if (st == DSP_OK && read == 0)
        st = dsp_error_set(err, last_fail, "%s: none of the %zu attempts could be read",
                           x->attempt->name ? x->attempt->name : "?", m);
    if (st == DSP_OK) {
        dsp_sample_options co = { compare_opts, NULL, o ? o->observe : NULL, o ? o->observe_ctx : NULL };
        dsp_error e = { 0 };
        bool obs_failed;
        st = observed(c, x->compare, compare_opts, &co, in, outputs, err ? err : &e, err ? err : &e, &obs_failed);
        dsp_error_clear(&e);
    }
    if (in)
        dsp_values_free(in + n_in, m);
    free(in);
    free(out);
    return st;
}
