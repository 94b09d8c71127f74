/* tests/support/opt_fake.h — the fake program that the optimizers' unit
 * tests (tests/compiler/test_opt_core.c, test_opt_better_together.c) search
 * over instead of an LM: one predictor "M.r" whose base instruction is
 * "Classify.", whose training row r has the input "text r" and the label
 * "L<r % 4>". Each test keeps its own scores and teacher (what it asserts
 * on); the wiring of the backend and the demos and runs it returns are
 * built here once. */
#ifndef DSPCC_TEST_OPT_FAKE_H
#define DSPCC_TEST_OPT_FAKE_H

#include <stddef.h>

#include "arena.h"
#include "opt.h"

/* A backend of the fake program over n_train training and n_val valset
 * rows, calling back with ctx; the test fills in the callbacks. */
opt_backend opt_fake_backend(void *ctx, size_t n_train, size_t n_val);

/* The demo of row: its input, then n_outputs outputs, the last of which is
 * the label; with 2, reasoning (NULL: none, a partial demo) comes first.
 * Allocated in a. */
opt_demo opt_fake_demo(arena *a, size_t row, size_t n_outputs, const char *reasoning, int bootstrapped);

/* The teacher's run of row: one step of predictor 0, the bootstrapped demo
 * of row (as opt_fake_demo), scored 1 if it passed, else 0. */
opt_run opt_fake_run(arena *a, size_t row, size_t n_outputs, const char *reasoning, int pass);

#endif
