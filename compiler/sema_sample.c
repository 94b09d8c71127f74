/* sema_sample.c — the options of best_of_n, refine and majority
 * (`best_of_n(Sig, n: 5, reward: score, threshold: 1.0)`, ir_sampling) and
 * the binding of the reward tool's parameters to the call's fields. */
#include "sema_int.h"

#include <string.h>

int sema_is_sampling(const char *strategy)
{
    return strcmp(strategy, "best_of_n") == 0 || strcmp(strategy, "refine") == 0 || strcmp(strategy, "majority") == 0;
}

static const ast_sopt *opt_of(const ast_call *c, const char *key)
{
    for (size_t i = 0; i < c->opts.len; i++) {
        const ast_sopt *o = c->opts.items[i];
        if (strcmp(o->key.name, key) == 0)
            return o;
    }
    return NULL;
}

ir_sampling *sema_sampling_options(sema *s, const ast_call *c, int *reasoning)
{
    const char *name = c->callee.name;
    int majority = strcmp(name, "majority") == 0;
    static const char *const scored[] = { "n", "reward", "threshold", "reasoning", "temperature" };
    static const char *const voted[] = { "n", "field", "reasoning", "temperature" };
    const char *const *known = majority ? voted : scored;
    size_t n_known = majority ? 4 : 5;
    int ok = 1;
    for (size_t i = 0; i < c->opts.len; i++) {
        const ast_sopt *o = c->opts.items[i];
        int found = 0;
        for (size_t k = 0; k < n_known; k++)
            found |= strcmp(known[k], o->key.name) == 0;
        for (size_t k = 0; k < i; k++)
            if (strcmp(((const ast_sopt *)c->opts.items[k])->key.name, o->key.name) == 0) {
                diag_error(s->d, o->key.loc, "%s option `%s` is given twice", name, o->key.name);
                ok = 0;
            }
        if (!found) {
            diag_error(s->d, o->key.loc, "%s has no option `%s`%s (it takes %s)", name, o->key.name,
                       sema_did_you_mean(s, o->key.name, known, n_known),
                       majority ? "n, field, reasoning, temperature" : "n, reward, threshold, reasoning, temperature");
            ok = 0;
        }
    }
    ir_sampling *sm = arena_alloc(s->a, sizeof *sm);
    sm->name = name;
    sm->pick = majority ? IR_PICK_MAJORITY : strcmp(name, "refine") == 0 ? IR_PICK_REFINE : IR_PICK_BEST_OF_N;
    sm->n = 5;
    const ast_sopt *o;
    if ((o = opt_of(c, "temperature"))) {
        double t = o->is_list ? -1 : o->value->kind == AV_INT ? (double)o->value->i
                                   : o->value->kind == AV_FLOAT ? o->value->f : -1;
        if (t <= 0 || t > 2) {
            diag_error(s->d, o->loc, "%s option `temperature` takes a number above 0, up to 2 (at 0 every sample "
                       "would be the same answer)", name);
            ok = 0;
        } else {
            sm->has_temperature = 1;
            sm->temperature = t;
        }
    }
    if ((o = opt_of(c, "n"))) {
        if (o->is_list || o->value->kind != AV_INT || o->value->i < 1 || o->value->i > 100) {
            diag_error(s->d, o->loc, "%s option `n` takes an integer from 1 to 100", name);
            ok = 0;
        } else {
            sm->n = o->value->i;
        }
    }
    if ((o = opt_of(c, "threshold"))) {
        if (o->is_list || (o->value->kind != AV_INT && o->value->kind != AV_FLOAT)) {
            diag_error(s->d, o->loc, "%s option `threshold` takes a number", name);
            ok = 0;
        } else {
            sm->has_threshold = 1;
            sm->threshold = o->value->kind == AV_INT ? (double)o->value->i : o->value->f;
        }
    }
    *reasoning = 0;
    if ((o = opt_of(c, "reasoning"))) {
        if (o->is_list || o->value->kind != AV_BOOL) {
            diag_error(s->d, o->loc, "%s option `reasoning` takes true or false", name);
            ok = 0;
        } else {
            *reasoning = o->value->i != 0;
        }
    }
    if (!majority && !opt_of(c, "reward")) {
        diag_error(s->d, c->callee.loc, "%s needs a reward: a C tool that scores an answer, as in "
                   "`%s(Sig, n: 5, reward: score, threshold: 1.0)`", name, name);
        ok = 0;
    }
    if (sm->pick == IR_PICK_REFINE && !sm->has_threshold) {
        diag_error(s->d, c->callee.loc, "refine needs a threshold: the reward an answer must reach before no more "
                   "attempts are made");
        ok = 0;
    }
    return ok ? sm : NULL;
}

int sema_sampling_bind(sema *s, ir_sampling *sm, const ast_call *c, const ir_signature *sig, const ir_field *outs,
                       size_t n_outs)
{
    const ast_sopt *o;
    if (sm->pick == IR_PICK_MAJORITY) {
        sm->field = n_outs - 1; /* DSPy votes on the last output */
        if ((o = opt_of(c, "field"))) {
            const ir_field *f = NULL;
            if (!o->is_list && o->value->kind == AV_NAME)
                f = ir_field_find(outs, n_outs, o->value->s);
            if (!f) {
                diag_error(s->d, o->loc, "majority option `field` must name an output of signature `%s`%s", sig->name,
                           !o->is_list && o->value->kind == AV_NAME
                               ? sema_field_names_hint(s, o->value->s, outs, n_outs) : "");
                return 0;
            }
            sm->field = (size_t)(f - outs);
        }
        return 1;
    }
    o = opt_of(c, "reward");
    if (o->is_list || o->value->kind != AV_NAME) {
        diag_error(s->d, o->loc, "%s option `reward` must name a tool", sm->name);
        return 0;
    }
    ast_ident id;
    memset(&id, 0, sizeof id);
    id.name = o->value->s;
    id.loc = o->value->loc;
    sym *ts = sema_expect(s, &id, SYM_TOOL);
    if (!ts || !ts->ir)
        return 0;
    const ir_tool *t = ts->ir;
    if (t->n_outputs || !t->type || (t->type->kind != IR_INT && t->type->kind != IR_FLOAT && t->type->kind != IR_BOOL)) {
        diag_error(s->d, o->loc, "reward `%s` must return a number or a bool, with no output parameters", t->name);
        return 0;
    }
    ir_reward_arg *args = arena_array(s->a, t->n_params + 1, sizeof *args);
    size_t n = 0;
    for (size_t i = 0; i < t->n_params; i++) {
        const ir_tool_param *p = &t->params[i];
        if (p->role != IR_PARAM_IN)
            continue;
        const ir_field *f = ir_field_find(sig->inputs, sig->n_inputs, p->name);
        int from_output = 0;
        if (!f) {
            f = ir_field_find(outs, n_outs, p->name);
            from_output = 1;
        }
        if (!f) {
            diag_error(s->d, o->loc, "reward `%s` takes `%s`, which is neither an input of signature `%s` nor an "
                       "output of the call; name its parameters after them", t->name, p->name, sig->name);
            return 0;
        }
        int fits = ir_type_equal(f->type, p->type) || (f->type->kind == IR_ENUM && p->type->kind == IR_STRING) ||
                   (f->type->kind == IR_INT && p->type->kind == IR_FLOAT);
        if (!fits) {
            diag_error(s->d, o->loc, "reward `%s` takes `%s` as %s, but the call's `%s` is %s", t->name, p->name,
                       sema_type_str(s, p->type), f->name, sema_type_str(s, f->type));
            return 0;
        }
        args[n].from = f->type;
        args[n].to = p->type;
        args[n].from_output = from_output;
        args[n++].index = (size_t)(f - (from_output ? outs : sig->inputs));
    }
    sm->reward = t;
    sm->reward_args = args;
    sm->n_reward_args = n;
    return 1;
}

ir_mcc *sema_mcc_build(sema *s, const ast_call *c, const ir_signature *sig, const char *base, const char *module)
{
    int ok = 1;
    ir_mcc *x = arena_alloc(s->a, sizeof *x);
    x->m = 3;
    int has_temp = 0;
    double temp = 0;
    for (size_t i = 0; i < c->opts.len; i++) {
        const ast_sopt *o = c->opts.items[i];
        if (strcmp(o->key.name, "temperature") == 0) {
            double t = o->is_list ? -1 : o->value->kind == AV_INT ? (double)o->value->i
                                       : o->value->kind == AV_FLOAT ? o->value->f : -1;
            if (t <= 0 || t > 2) {
                diag_error(s->d, o->loc, "multi_chain_comparison option `temperature` takes a number above 0, up to "
                           "2 (the attempts' sampling temperature)");
                ok = 0;
            }
            has_temp = 1;
            temp = t;
        } else if (strcmp(o->key.name, "m") != 0) {
            diag_error(s->d, o->key.loc, "multi_chain_comparison has no option `%s` (it takes m, temperature)",
                       o->key.name);
            ok = 0;
        } else if (o->is_list || o->value->kind != AV_INT || o->value->i < 1 || o->value->i > 20) {
            diag_error(s->d, o->loc, "multi_chain_comparison option `m` takes an integer from 1 to 20");
            ok = 0;
        } else {
            x->m = o->value->i;
        }
    }
    const ir_field *fs[2] = { sig->inputs, sig->outputs };
    size_t ns[2] = { sig->n_inputs, sig->n_outputs };
    for (int k = 0; k < 2; k++)
        for (size_t i = 0; i < ns[k]; i++)
            if (strcmp(fs[k][i].name, "rationale") == 0 || strcmp(fs[k][i].name, "reasoning") == 0 ||
                strncmp(fs[k][i].name, "reasoning_attempt_", 18) == 0) {
                diag_error(s->d, c->sig.loc, "multi_chain_comparison uses the field name `%s` itself; rename it in "
                           "signature `%s`", fs[k][i].name, sig->name);
                ok = 0;
            }
    if (!ok)
        return NULL;
    ir_predictor *att = arena_alloc(s->a, sizeof *att);
    att->has_temperature = has_temp;
    att->temperature = temp;
    ir_field *ao = arena_array(s->a, sig->n_outputs + 2, sizeof *ao);
    ao[0] = (ir_field){ "reasoning", &s->t_string, NULL };
    memcpy(ao + 1, sig->outputs, sig->n_outputs * sizeof *ao);
    att->name = arena_printf(s->a, "%s.attempt", base);
    att->module = module;
    att->strategy = "chain_of_thought";
    att->signature = sig;
    att->outputs = ao;
    att->n_outputs = sig->n_outputs + 1;

    ir_field *ins = arena_array(s->a, sig->n_inputs + (size_t)x->m + 1, sizeof *ins);
    memcpy(ins, sig->inputs, sig->n_inputs * sizeof *ins);
    for (long long i = 0; i < x->m; i++)
        ins[sig->n_inputs + (size_t)i] = (ir_field){ arena_printf(s->a, "reasoning_attempt_%lld", i + 1), &s->t_string,
                                                     arena_printf(s->a, "Student attempt #%lld", i + 1) };
    ir_field *co = arena_array(s->a, sig->n_outputs + 2, sizeof *co);
    co[0] = (ir_field){ "rationale", &s->t_string,
                        "Accurate reasoning: compare the attempts holistically and correct them" };
    memcpy(co + 1, sig->outputs, sig->n_outputs * sizeof *co);
    ir_signature *cs = arena_alloc(s->a, sizeof *cs);
    cs->name = arena_printf(s->a, "%s.compare", sig->name);
    cs->instructions = sig->instructions;
    cs->inputs = ins;
    cs->n_inputs = sig->n_inputs + (size_t)x->m;
    cs->outputs = co;
    cs->n_outputs = sig->n_outputs + 1;
    cs->loc = sig->loc;
    ir_predictor *cmp = arena_alloc(s->a, sizeof *cmp);
    cmp->name = arena_printf(s->a, "%s.compare", base);
    cmp->module = module;
    cmp->strategy = "predict";
    cmp->signature = cs;
    cmp->outputs = co;
    cmp->n_outputs = cs->n_outputs;
    x->attempt = att;
    x->compare = cmp;
    return x;
}
