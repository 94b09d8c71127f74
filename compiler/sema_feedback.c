/* sema_feedback.c — the predictor a metric's feedback is aimed at
 * (`feedback q1: ...`, a scoring tool's `char **feedback_q1`): `q1` is
 * the call bound to q1 in the module scored (a react call's steps,
 * `M.q1.react` and `M.q1.extract`, both); `Sub.q1` is one of another
 * module's, which the module calls (directly or not): only those run when
 * the metric scores the module, so only those can be named. */
#include "sema_int.h"

#include <string.h>

/* 1: predictor name pn is prefix, or one of its steps (`prefix.x`). */
static int names(const char *pn, const char *prefix)
{
    size_t n = strlen(prefix);
    return strncmp(pn, prefix, n) == 0 && (pn[n] == '\0' || pn[n] == '.');
}

/* The binding of m's predictor pn: `M.q1.react` -> `q1`. */
static const char *binding(sema *s, const ir_module *m, const char *pn)
{
    const char *b = pn + strlen(m->name) + 1;
    return arena_strndup(s->a, b, strcspn(b, "."));
}

const char *const *sema_feedback_target(sema *s, const ir_module *m, const char *target, src_loc at,
                                        const char *metric, size_t *n)
{
    const char *full = strchr(target, '.') ? target : arena_printf(s->a, "%s.%s", m->name, target);
    size_t cap = 0;
    for (size_t i = 0; i < s->modules_done.len; i++)
        cap += ((const ir_module *)s->modules_done.items[i])->n_predictors;
    const char **found = arena_array(s->a, cap + 1, sizeof *found);
    const char **known = arena_array(s->a, cap + 1, sizeof *known);
    size_t n_found = 0, n_known = 0;
    for (size_t i = 0; i < s->modules_done.len; i++) {
        const ir_module *o = s->modules_done.items[i];
        if (!ir_module_reaches(m, o))
            continue;
        for (size_t k = 0; k < o->n_predictors; k++) {
            const char *pn = o->predictors[k]->name;
            if (names(pn, full))
                found[n_found++] = pn;
            /* What to suggest: m's bindings, other modules' full names. */
            const char *kn = o == m ? binding(s, m, pn) : pn;
            int dup = 0;
            for (size_t j = 0; j < n_known && !dup; j++)
                dup = strcmp(known[j], kn) == 0;
            if (!dup)
                known[n_known++] = kn;
        }
    }
    *n = n_found;
    if (n_found)
        return found;
    char *list = "";
    for (size_t i = 0; i < n_known; i++)
        list = arena_printf(s->a, "%s%s`%s`", list, i ? ", " : "", known[i]);
    /* `Other.q1` of a module m does not call: say so, not "no predictor". */
    const char *dot = strchr(target, '.');
    const ir_module *other = NULL;
    for (size_t i = 0; dot && i < s->modules_done.len && !other; i++) {
        const ir_module *o = s->modules_done.items[i];
        if (strlen(o->name) == (size_t)(dot - target) && strncmp(o->name, target, (size_t)(dot - target)) == 0 &&
            !ir_module_reaches(m, o))
            other = o;
    }
    if (other)
        diag_error(s->d, at, "metric `%s` scores module `%s`, which does not call module `%s`: `%s` never runs "
                   "under it (%s%s)%s", metric, m->name, other->name, target,
                   n_known ? "predictors it runs: " : "it calls no LM", list,
                   sema_did_you_mean(s, target, known, n_known));
    else
        diag_error(s->d, at, "metric `%s`: module `%s` has no predictor `%s` to aim feedback at (%s%s)%s", metric,
                   m->name, target, n_known ? "its predictors: " : "it calls no LM", list,
                   sema_did_you_mean(s, target, known, n_known));
    return NULL;
}
