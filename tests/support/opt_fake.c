/* opt_fake.c — the optimizer tests' fake program (see opt_fake.h). */
#include "opt_fake.h"

#include <string.h>

static const char *const names[] = { "M.r" };
static const char *const base[] = { "Classify." };

opt_backend opt_fake_backend(void *ctx, size_t n_train, size_t n_val)
{
    opt_backend b;
    memset(&b, 0, sizeof b);
    b.ctx = ctx;
    b.n_preds = 1;
    b.pred_names = names;
    b.base_instructions = base;
    b.program_description = "module M: r = predict(Classify)";
    b.dataset_description = "fake data";
    b.n_train = n_train;
    b.n_val = n_val;
    return b;
}

opt_demo opt_fake_demo(arena *a, size_t row, size_t n_outputs, const char *reasoning, int bootstrapped)
{
    const char **in = arena_array(a, 1, sizeof *in), **out = arena_array(a, n_outputs, sizeof *out);
    in[0] = arena_printf(a, "text %zu", row);
    if (n_outputs > 1)
        out[0] = reasoning;
    out[n_outputs - 1] = arena_printf(a, "L%zu", row % 4);
    return (opt_demo){ in, 1, out, n_outputs, row, bootstrapped };
}

opt_run opt_fake_run(arena *a, size_t row, size_t n_outputs, const char *reasoning, int pass)
{
    opt_step *st = arena_alloc(a, sizeof *st);
    st->pred = 0;
    st->demo = opt_fake_demo(a, row, n_outputs, reasoning, 1);
    return (opt_run){ 1, pass ? 1.0 : 0.0, st, 1, NULL, NULL };
}
