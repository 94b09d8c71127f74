/* ir_runtime.c — IR declarations as libdsprt descriptors (see ir_runtime.h). */
#include "ir_runtime.h"

#include <string.h>

#include "cheader.h"

const dsp_type *irt_type(arena *a, const ir_type *t)
{
    switch (t->kind) {
    case IR_STRING: return &dsp_type_string;
    case IR_INT: return &dsp_type_int;
    case IR_FLOAT: return &dsp_type_float;
    case IR_BOOL: return &dsp_type_bool;
    default: break;
    }
    dsp_type *d = arena_alloc(a, sizeof *d);
    if (t->kind == IR_ENUM) {
        d->kind = DSP_TYPE_ENUM;
        d->enum_values = t->values;
        d->n_enum_values = t->n_values;
        d->name = t->name;
    } else if (t->kind == IR_RECORD) {
        d->kind = DSP_TYPE_RECORD;
        d->name = t->name;
        d->fields = irt_fields(a, t->fields, t->n_fields);
        d->n_fields = t->n_fields;
    } else if (t->kind == IR_MAP) {
        d->kind = DSP_TYPE_MAP;
        d->elem = irt_type(a, t->elem);
    } else {
        d->kind = t->kind == IR_LIST ? DSP_TYPE_LIST : DSP_TYPE_OPTIONAL;
        d->elem = irt_type(a, t->elem);
    }
    return d;
}

const dsp_field *irt_fields(arena *a, const ir_field *fs, size_t n)
{
    dsp_field *out = arena_array(a, n + 1, sizeof *out);
    for (size_t i = 0; i < n; i++) {
        out[i].name = fs[i].name;
        out[i].type = irt_type(a, fs[i].type);
        out[i].description = fs[i].desc;
    }
    return out;
}

const dsp_signature *irt_signature(arena *a, const ir_signature *s)
{
    dsp_signature *d = arena_alloc(a, sizeof *d);
    d->name = s->name;
    d->instructions = s->instructions;
    d->inputs = irt_fields(a, s->inputs, s->n_inputs);
    d->n_inputs = s->n_inputs;
    d->outputs = irt_fields(a, s->outputs, s->n_outputs);
    d->n_outputs = s->n_outputs;
    return d;
}

dsp_status irt_predictor(arena *a, const ir_predictor *p, const dsp_lm_config *lm, dsp_predictor **out,
                         dsp_error *err)
{
    dsp_strategy st;
    if (strcmp(p->strategy, "predict") == 0)
        st = DSP_STRATEGY_PREDICT;
    else if (strcmp(p->strategy, "chain_of_thought") == 0)
        st = DSP_STRATEGY_CHAIN_OF_THOUGHT;
    else
        return dsp_error_set(err, DSP_ERR_INVALID, "predictor `%s`: the interpreter does not know strategy `%s`",
                             p->name, p->strategy);
    dsp_predictor *d = arena_alloc(a, sizeof *d);
    d->name = p->name;
    d->signature = irt_signature(a, p->signature);
    d->strategy = st;
    d->lm = lm;
    dsp_status rc = dsp_signature_check(d->signature, st, err);
    if (rc != DSP_OK)
        return rc;
    if (dsp_strategy_n_outputs(d->signature, st) != p->n_outputs)
        return dsp_error_set(err, DSP_ERR_INVALID, "predictor `%s`: the IR lists %zu outputs, the runtime %zu",
                             p->name, p->n_outputs, dsp_strategy_n_outputs(d->signature, st));
    *out = d;
    return DSP_OK;
}

static const ir_option *param(const ir_lm *lm, const char *key)
{
    for (size_t i = 0; i < lm->n_params; i++)
        if (strcmp(lm->params[i].key, key) == 0)
            return &lm->params[i];
    return NULL;
}

static double number(const ir_option *o)
{
    return o->kind == IR_OPT_FLOAT ? o->f : (double)o->i;
}

dsp_status irt_lm(arena *a, const ir_lm *lm, dsp_lm_config **out, dsp_error *err)
{
    dsp_lm_config *c = arena_alloc(a, sizeof *c);
    c->model = arena_printf(a, "%s/%s", lm->provider, lm->model);
    dsp_provider prov;
    const char *model_name;
    dsp_status rc = dsp_parse_model(c->model, &prov, &model_name, err);
    if (rc != DSP_OK)
        return rc;
    c->base_url = lm->base_url;
    const ir_option *ad = param(lm, "adapter");
    c->adapter = ad && ad->s && strcmp(ad->s, "json") == 0 ? DSP_ADAPTER_JSON : DSP_ADAPTER_CHAT;
    const ir_option *tc = param(lm, "tool_calling");
    c->tool_calling = tc && tc->s && strcmp(tc->s, "native") == 0 ? DSP_TOOL_CALLING_NATIVE : DSP_TOOL_CALLING_TEXT;
    c->api_key_env = lm->api_key_env;
    c->params = dsp_lm_params_default();
    const ir_option *o;
    if ((o = param(lm, "temperature")))
        c->params.temperature = number(o);
    if ((o = param(lm, "max_tokens")))
        c->params.max_tokens = (int)number(o);
    if ((o = param(lm, "top_p"))) {
        c->params.has_top_p = true;
        c->params.top_p = number(o);
    }
    if ((o = param(lm, "timeout_ms")))
        c->timeout_ms = (int)number(o);
    if ((o = param(lm, "retries"))) {
        c->has_retries = true;
        c->retries = (int)number(o);
    }
    if ((o = param(lm, "cache")))
        c->no_cache = o->i == 0;
    if ((o = param(lm, "input_usd_per_mtok")))
        c->usd_per_mtok_in = number(o);
    if ((o = param(lm, "output_usd_per_mtok")))
        c->usd_per_mtok_out = number(o);
    if ((o = param(lm, "rpm")))
        c->rpm = (int)number(o);
    if ((o = param(lm, "tpm")))
        c->tpm = (int)number(o);
    *out = c;
    return DSP_OK;
}

const char *irt_lm_str(const ir_lm *lm, const char *key)
{
    const ir_option *o = lm ? param(lm, key) : NULL;
    return o && (o->kind == IR_OPT_STRING || o->kind == IR_OPT_NAME) ? o->s : NULL;
}

int irt_lm_llama_cpp(const ir_lm *lm)
{
    const char *s = irt_lm_str(lm, "lora_serving");
    return s && strcmp(s, "llama.cpp") == 0;
}

const dsp_lm_config *irt_lm_with_adapter(arena *a, const ir_lm *lm, const dsp_lm_config *base, const char *name,
                                         const char *sha256)
{
    dsp_lm_config *c = arena_alloc(a, sizeof *c);
    *c = *base;
    if (irt_lm_llama_cpp(lm)) {
        const ir_option *o = param(lm, "lora_id");
        c->params.has_lora = true;
        c->params.lora_id = o ? (int)number(o) : 0;
        c->params.lora_sha256 = sha256 ? arena_strdup(a, sha256) : NULL;
    } else {
        const char *slash = strchr(base->model, '/');
        int plen = slash ? (int)(slash - base->model) : 0;
        c->model = arena_printf(a, "%.*s/%s", plen, base->model, name);
    }
    return c;
}

static const char *without_const(const char *ctype)
{
    return strncmp(ctype, "const ", 6) == 0 ? ctype + 6 : ctype;
}

static int is_pointer_ctype(const char *ctype)
{
    return strchr(ctype, '*') != NULL;
}

static int scalar_kind(const char *ctype, dsp_cm_kind *kind)
{
    const ch_scalar *sc = ch_scalar_find(without_const(ctype));
    if (!sc)
        return 0;
    *kind = sc->cls == CH_SIGNED ? DSP_CM_SIGNED : sc->cls == CH_UNSIGNED ? DSP_CM_UNSIGNED
          : sc->cls == CH_FLOATING ? DSP_CM_FLOAT : DSP_CM_BOOL;
    return 1;
}

int irt_celem_kind(const char *elem_ctype, const ir_cstruct *sub, dsp_cm_kind *elem, const char **sized)
{
    if (sub) {
        *elem = DSP_CM_STRUCT;
        *sized = sub->c_name;
        return 1;
    }
    if (!elem_ctype)
        return 0;
    if (is_pointer_ctype(elem_ctype)) {
        *elem = DSP_CM_STRING;
        *sized = "char *";
        return 1;
    }
    *sized = without_const(elem_ctype);
    return scalar_kind(elem_ctype, elem);
}

int irt_cmember_kind(const ir_cstruct *ic, const ir_cmember *m, dsp_cm_kind *kind, dsp_cm_kind *elem,
                     const char **sized)
{
    *elem = DSP_CM_SIGNED;
    *sized = NULL;
    if (m->is_values) {
        *kind = DSP_CM_MAP_VALUES;
        return irt_celem_kind(m->elem_ctype, m->sub, elem, sized);
    }
    if (m->field < 0 || (size_t)m->field >= ic->record->n_fields) {
        *kind = m->is_flag ? DSP_CM_PRESENT : DSP_CM_COUNT;
        *sized = m->is_flag ? "bool" : NULL;
        return m->field < 0;
    }
    const ir_type *ft = ic->record->fields[m->field].type;
    if (ft->kind == IR_MAP) {
        *kind = DSP_CM_MAP;
        return 1;
    }
    if (!is_pointer_ctype(m->ctype)) {
        if (m->sub) {
            *kind = DSP_CM_STRUCT;
            return 1;
        }
        *sized = without_const(m->ctype);
        return scalar_kind(m->ctype, kind);
    }
    if (ft->kind != IR_LIST) {
        *kind = m->sub ? DSP_CM_STRUCT_PTR : DSP_CM_STRING;
        return 1;
    }
    *kind = DSP_CM_LIST;
    return irt_celem_kind(m->elem_ctype, m->sub, elem, sized);
}
