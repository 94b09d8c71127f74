/* sema_optimize.c — `optimize` blocks and the option tables they and the
 * lm blocks are checked against. */
#include "sema_int.h"
#include "strbuf.h"

#include <stdlib.h>
#include <string.h>

static const char *kind_text(bi_opt_kind k)
{
    switch (k) {
    case BI_OPT_INT: return "an integer";
    case BI_OPT_FLOAT: return "a number";
    case BI_OPT_BOOL: return "true or false";
    case BI_OPT_STRING: return "a string";
    case BI_OPT_FIELD: return "a field's name";
    case BI_OPT_STRINGS: return "a list of strings, e.g. [\"a.state.json\", \"b.state.json\"]";
    default: return "one of";
    }
}

static int cmp_option(const void *a, const void *b)
{
    return strcmp(((const ir_option *)a)->key, ((const ir_option *)b)->key);
}

size_t sema_check_options(sema *s, const ptr_vec *kvs, const bi_option *table, size_t n_table,
                          const char *what, ir_option **out)
{
    ir_option *opts = arena_array(s->a, kvs->len + 1, sizeof *opts);
    size_t n = 0;
    int ok = 1;
    for (size_t i = 0; i < kvs->len; i++) {
        const ast_kv *kv = kvs->items[i];
        const bi_option *o = bi_option_find(table, n_table, kv->key.name);
        if (!o) {
            const char **names = arena_array(s->a, n_table + 1, sizeof *names);
            size_t k = 0;
            for (; k < n_table && table[k].name; k++)
                names[k] = table[k].name;
            const char *hint = sema_did_you_mean(s, kv->key.name, names, k);
            if (!*hint && k > 0) {
                /* Nothing close: say what it takes. */
                strbuf b = { 0 };
                sb_puts(&b, "; it takes ");
                for (size_t j = 0; j < k; j++)
                    sb_printf(&b, "%s`%s`", j == 0 ? "" : j + 1 == k ? " and " : ", ", names[j]);
                if (!b.oom)
                    hint = arena_strdup(s->a, b.p);
                sb_free(&b);
            }
            diag_error(s->d, kv->key.loc, "unknown %s `%s`%s", what, kv->key.name, hint);
            ok = 0;
            continue;
        }
        int dup = 0;
        for (size_t j = 0; j < n; j++)
            dup |= strcmp(opts[j].key, o->name) == 0;
        if (dup) {
            diag_error(s->d, kv->key.loc, "%s `%s` is given twice", what, o->name);
            ok = 0;
            continue;
        }
        const ast_value *v = kv->value;
        ir_option *r = &opts[n];
        r->key = o->name;
        int good = 1;
        double num = 0;
        switch (o->kind) {
        case BI_OPT_INT:
            good = v->kind == AV_INT;
            r->kind = IR_OPT_INT;
            r->i = v->i;
            num = (double)v->i;
            break;
        case BI_OPT_FLOAT:
            good = v->kind == AV_INT || v->kind == AV_FLOAT;
            r->kind = IR_OPT_FLOAT;
            r->f = v->kind == AV_INT ? (double)v->i : v->f;
            num = r->f;
            break;
        case BI_OPT_BOOL:
            good = v->kind == AV_BOOL;
            r->kind = IR_OPT_BOOL;
            r->i = v->i;
            break;
        case BI_OPT_STRING:
            good = v->kind == AV_STRING;
            r->kind = IR_OPT_STRING;
            r->s = v->s;
            break;
        case BI_OPT_FIELD:
            good = v->kind == AV_NAME || v->kind == AV_STRING;
            r->kind = IR_OPT_NAME;
            r->s = v->s;
            break;
        case BI_OPT_STRINGS:
            good = v->kind == AV_LIST;
            for (size_t k = 0; good && k < v->items.len; k++)
                good = ((const ast_value *)v->items.items[k])->kind == AV_STRING;
            r->kind = IR_OPT_LIST;
            r->n_list = good ? v->items.len : 0;
            r->list = arena_array(s->a, r->n_list + 1, sizeof *r->list);
            for (size_t k = 0; k < r->n_list; k++)
                r->list[k] = ((const ast_value *)v->items.items[k])->s;
            num = (double)r->n_list;
            break;
        case BI_OPT_CHOICE:
            good = 0;
            r->kind = IR_OPT_NAME;
            r->s = v->s;
            if (v->kind == AV_NAME || v->kind == AV_STRING)
                for (size_t c = 0; o->choices[c]; c++)
                    good |= strcmp(o->choices[c], v->s) == 0;
            if (!good) {
                char list[256] = "";
                for (size_t c = 0; o->choices[c]; c++) {
                    strncat(list, c ? ", " : "", sizeof list - strlen(list) - 1);
                    strncat(list, o->choices[c], sizeof list - strlen(list) - 1);
                }
                diag_error(s->d, v->loc, "%s `%s` must be one of: %s", what, o->name, list);
                ok = 0;
                continue;
            }
            break;
        }
        if (!good) {
            diag_error(s->d, v->loc, "%s `%s` must be %s", what, o->name, kind_text(o->kind));
            ok = 0;
            continue;
        }
        if ((o->kind == BI_OPT_INT || o->kind == BI_OPT_FLOAT) && (num < o->min || num > o->max)) {
            diag_error(s->d, v->loc, "%s `%s` must be between %.15g and %.15g", what, o->name, o->min, o->max);
            ok = 0;
            continue;
        }
        if (o->kind == BI_OPT_STRINGS && (num < o->min || num > o->max)) {
            diag_error(s->d, v->loc, "%s `%s` must list %g to %g strings", what, o->name, o->min, o->max);
            ok = 0;
            continue;
        }
        n++;
    }
    if (!ok)
        return (size_t)-1;
    qsort(opts, n, sizeof *opts, cmp_option);
    *out = opts;
    return n;
}

static const char *const body_keys[] = {
    "metric", "trainset", "valset", "lm", "teacher", "seed", "concurrency", "student", "embedder"
};
#define N_BODY_KEYS (sizeof body_keys / sizeof body_keys[0])

/* A reference to a declaration in an optimize body. */
static sym *ref(sema *s, const ast_kv *kv, sym_kind kind)
{
    if (kv->value->kind != AV_NAME) {
        diag_error(s->d, kv->value->loc, "`%s` names %s %s declared in the program, e.g. `%s: %s`",
                   kv->key.name, sym_kind_article(kind), sym_kind_name(kind), kv->key.name,
                   kind == SYM_METRIC ? "accuracy" : kind == SYM_DATA ? "train" : "teacher");
        return NULL;
    }
    ast_ident id = { .name = kv->value->s, .loc = kv->value->loc };
    sym *sy = sema_expect(s, &id, kind);
    /* Metrics get their IR per module, later; the others must have checked. */
    return sy && (sy->ir || kind == SYM_METRIC) ? sy : NULL;
}
/* The metric was checked against the trainset; the valset must provide
 * the same fields, gold-only ones (ex.answers) with the same type, or
 * every validation example would fail at run time. Returns 0 after
 * reporting. */
static int valset_has_reads(sema *s, const ir_metric *metric, const ir_module *m, const ir_data *val,
                            const ir_expr *e, src_loc at)
{
    int ok = 1;
    for (size_t i = 0; i < e->n_args; i++)
        ok &= valset_has_reads(s, metric, m, val, e->args[i].value, at);
    if (e->kind != IR_E_FIELD || e->source != IR_SRC_EXAMPLE)
        return ok;
    int mapped = 0;
    for (size_t c = 0; c < val->n_columns; c++)
        mapped |= strcmp(val->columns[c].field, e->field) == 0;
    if (!mapped) {
        diag_error(s->d, at, "data set `%s` provides no field `%s`, which metric `%s` reads (ex.%s); map a "
                   "column to it: `{ column -> %s }`", val->name, e->field, metric->name, e->field, e->field);
        return 0;
    }
    if (ir_field_find(m->params, m->n_params, e->field) || ir_field_find(m->results, m->n_results, e->field))
        return ok;
    const ir_type *t = sema_data_field_type(s, val, e->field);
    if (t && !ir_type_equal(t, e->type)) {
        diag_error(s->d, at, "data set `%s` holds `%s` as %s, but the trainset holds it as %s (metric `%s` "
                   "reads ex.%s); make the two files agree", val->name, e->field, sema_type_str(s, t),
                   sema_type_str(s, e->type), metric->name, e->field);
        return 0;
    }
    return ok;
}


ir_optimize *sema_check_optimize(sema *s, ast_decl *d)
{
    ir_optimize *o = arena_alloc(s->a, sizeof *o);
    o->loc = sema_loc(s, d->loc);
    o->concurrency = 0;  /* unset: dspcc eval and optimize run 8 at once */
    int ok = 1;
    sym *msym = sema_expect(s, &d->name, SYM_MODULE);
    if (!msym || !msym->ir)
        ok = 0;
    else
        o->module = msym->ir;
    const bi_optimizer *opt = bi_optimizer_find(d->optimizer.name);
    if (!opt) {
        const char *names[16];
        for (size_t i = 0; i < bi_n_optimizers && i < 16; i++)
            names[i] = bi_optimizers[i].name;
        diag_error(s->d, d->optimizer.loc, "unknown optimizer `%s`%s", d->optimizer.name,
                   sema_did_you_mean(s, d->optimizer.name, names, bi_n_optimizers));
        ok = 0;
    } else {
        o->optimizer = opt->name;
        ir_option *params;
        const char *what = arena_printf(s->a, "argument of %s:", opt->name);
        size_t n = sema_check_options(s, &d->opt_args, opt->options, BI_MAX_OPTIONS, what, &params);
        if (n == (size_t)-1)
            ok = 0;
        else {
            o->params = params;
            o->n_params = n;
        }
    }
    const ast_kv *seen[N_BODY_KEYS] = { 0 };
    const ast_kv *metric_kv = NULL, *train_kv = NULL, *val_kv = NULL;
    sym *metric = NULL;
    for (size_t i = 0; i < d->kvs.len; i++) {
        const ast_kv *kv = d->kvs.items[i];
        size_t k = 0;
        while (k < N_BODY_KEYS && strcmp(body_keys[k], kv->key.name) != 0)
            k++;
        if (k == N_BODY_KEYS) {
            diag_error(s->d, kv->key.loc, "unknown optimize setting `%s`%s (settings: metric, "
                       "trainset, valset, lm, teacher, seed, concurrency, student, embedder)", kv->key.name,
                       sema_did_you_mean(s, kv->key.name, body_keys, N_BODY_KEYS));
            ok = 0;
            continue;
        }
        if (seen[k]) {
            diag_error(s->d, kv->key.loc, "optimize setting `%s` is given twice", kv->key.name);
            ok = 0;
            continue;
        }
        seen[k] = kv;
        sym *sy;
        switch (k) {
        case 0:
            metric_kv = kv;
            metric = ref(s, kv, SYM_METRIC);
            ok &= metric != NULL;
            break;
        case 1:
        case 2:
            sy = ref(s, kv, SYM_DATA);
            ok &= sy != NULL;
            if (sy && k == 1) {
                o->trainset = sy->ir;
                train_kv = kv;
            } else if (sy) {
                o->valset = sy->ir;
                val_kv = kv;
            }
            break;
        case 3:
        case 4:
            sy = ref(s, kv, SYM_LM);
            ok &= sy != NULL;
            if (sy && k == 3)
                o->lm = sy->ir;
            else if (sy)
                o->teacher = sy->ir;
            break;
        case 7:
        case 8:
            sy = ref(s, kv, SYM_LM);
            ok &= sy != NULL;
            if (sy && k == 7)
                o->student = sy->ir;
            else if (sy)
                o->embedder = sy->ir;
            break;
        default:
            if (kv->value->kind != AV_INT || kv->value->i < (k == 5 ? 0 : 1) ||
                (k == 6 && kv->value->i > 256)) {
                diag_error(s->d, kv->value->loc, k == 5 ? "seed must be a non-negative integer"
                           : "concurrency must be an integer from 1 to 256");
                ok = 0;
            } else if (k == 5) {
                o->seed = kv->value->i;
            } else {
                o->concurrency = kv->value->i;
            }
        }
    }
    static const char *const required[] = { "metric", "trainset", "lm" };
    static const size_t required_idx[] = { 0, 1, 3 };
    for (size_t i = 0; i < 3; i++)
        if (!seen[required_idx[i]]) {
            diag_error(s->d, d->loc, "optimize block for `%s` needs `%s: ...`", d->name.name,
                       required[i]);
            ok = 0;
        }
    /* knn_fewshot embeds inputs: it needs the embedding model's lm. */
    if (o->optimizer && strcmp(o->optimizer, "knn_fewshot") == 0 && !seen[8]) {
        diag_error(s->d, d->loc, "knn_fewshot needs `embedder: NAME`, an lm declaring the embedding model (e.g. "
                   "`lm embed = \"openai/text-embedding-3-small\"`)");
        ok = 0;
    } else if (seen[8] && o->optimizer && strcmp(o->optimizer, "knn_fewshot") != 0) {
        diag_error(s->d, seen[8]->key.loc, "`embedder` is knn_fewshot's setting; %s embeds nothing", o->optimizer);
        ok = 0;
    } else if (o->embedder && o->embedder->provider &&
               (strcmp(o->embedder->provider, "anthropic") == 0 || strcmp(o->embedder->provider, "gemini") == 0 ||
                strcmp(o->embedder->provider, "bedrock") == 0 || strcmp(o->embedder->provider, "azure") == 0)) {
        /* dsp_embed speaks OpenAI's POST /v1/embeddings only. */
        diag_error(s->d, seen[8]->value->loc,
                   "embedder `%s` runs on %s, whose API has no OpenAI-style embeddings; they go through "
                   "POST /v1/embeddings: use an openai/, ollama/, vllm/, llamacpp/ or compatible/ lm",
                   o->embedder->name, o->embedder->provider);
        ok = 0;
    }
    if (!ok || !o->module)
        return NULL;
    const ir_module *m = o->module;
    /* ensemble's `states:` are the members: nothing is searched for. */
    const ast_kv *states = NULL;
    for (size_t i = 0; i < d->opt_args.len; i++)
        if (strcmp(((const ast_kv *)d->opt_args.items[i])->key.name, "states") == 0)
            states = d->opt_args.items[i];
    for (size_t i = 0; states && i < d->opt_args.len; i++) {
        const ast_kv *kv = d->opt_args.items[i];
        if (strcmp(kv->key.name, "members") == 0 || strcmp(kv->key.name, "num_candidates") == 0 ||
            strcmp(kv->key.name, "max_bootstrapped_demos") == 0 || strcmp(kv->key.name, "max_labeled_demos") == 0) {
            diag_error(s->d, kv->key.loc, "ensemble: `%s` chooses among random_search's candidates; with `states:` "
                       "every state listed is a member and nothing is searched for: drop one of them", kv->key.name);
            return NULL;
        }
    }
    /* ensemble's `field:` names an output one of the module's predictors
     * makes: the last one that makes it votes. */
    for (size_t i = 0; i < d->opt_args.len; i++) {
        const ast_kv *kv = d->opt_args.items[i];
        if (strcmp(kv->key.name, "field") != 0 || !kv->value->s)
            continue;
        int found = 0;
        for (size_t k = 0; k < m->n_predictors && !found; k++)
            found = ir_field_find(m->predictors[k]->outputs, m->predictors[k]->n_outputs, kv->value->s) != NULL;
        if (!found) {
            const ir_predictor *last = m->n_predictors ? m->predictors[m->n_predictors - 1] : NULL;
            const char *names = "";
            for (size_t k = 0; last && k < last->n_outputs; k++)
                names = arena_printf(s->a, "%s%s`%s`", names, k ? ", " : "", last->outputs[k].name);
            diag_error(s->d, kv->value->loc, "ensemble: `field: %s` is not an output of any predictor of module `%s`%s%s%s",
                       kv->value->s, m->name, last ? " (its last, " : "", last ? last->name : "",
                       last ? arena_printf(s->a, ", makes %s)", names) : "");
            return NULL;
        }
    }
    /* Every input of the module must come from the data. */
    const ir_data *sets[2] = { o->trainset, o->valset };
    const ast_kv *set_kvs[2] = { train_kv, val_kv };
    for (int k = 0; k < 2; k++) {
        const ir_data *data = sets[k];
        if (!data)
            continue;
        for (size_t i = 0; i < m->n_params; i++) {
            int found = 0;
            for (size_t c = 0; c < data->n_columns; c++)
                found |= strcmp(data->columns[c].field, m->params[i].name) == 0;
            if (!found && m->params[i].type->kind != IR_OPTIONAL) {
                diag_error(s->d, set_kvs[k]->value->loc, "data set `%s` provides no field `%s`, a "
                           "required input of module `%s`; map a column to it: `{ column -> %s }`",
                           data->name, m->params[i].name, m->name, m->params[i].name);
                ok = 0;
            }
        }
        /* A declared type is for gold-only fields; a module field keeps the module's. */
        for (size_t c = 0; c < data->n_columns; c++) {
            const ir_column *col = &data->columns[c];
            const ir_field *f = ir_field_find(m->params, m->n_params, col->field);
            if (!f)
                f = ir_field_find(m->results, m->n_results, col->field);
            if (col->type && f && !ir_type_equal(col->type, f->type)) {
                diag_error(s->d, set_kvs[k]->value->loc, "data set `%s` declares `%s` as %s, but module `%s` "
                           "has it as %s; drop the type from the mapping (a module field has the module's type)",
                           data->name, col->field, sema_type_str(s, col->type), m->name,
                           sema_type_str(s, f->type));
                ok = 0;
            }
        }
        sema_data_check_enums(s, data, m, set_kvs[k]->value->loc);
        sema_data_check_shapes(s, data, m, set_kvs[k]->value->loc);
    }
    if (o->valset && o->valset == o->trainset)
        diag_warning(s->d, val_kv->value->loc, "valset is the trainset: scores will be optimistic; "
                     "hold out separate data");
    o->metric = sema_check_metric(s, metric, m, o->trainset, &metric_kv->key);
    if (!o->metric || !ok)
        return NULL;
    if (o->valset && o->valset != o->trainset &&
        !valset_has_reads(s, o->metric, m, o->valset, o->metric->expr, val_kv->value->loc))
        return NULL;
    return o;
}
