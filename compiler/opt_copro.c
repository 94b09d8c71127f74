/* opt_copro.c — copro(breadth, depth, init_temperature): DSPy's COPRO,
 * coordinate ascent over each predictor's instruction. Demos: none (COPRO
 * tunes instructions only; every candidate is zero-shot).
 *
 * The program as written is scored first on the whole valset (the
 * baseline). Then, for each of `depth` rounds and each predictor in
 * program order, the teacher proposes candidates at init_temperature:
 * `breadth - 1` in round 1 (the signature's own instruction is the
 * breadth-th), `breadth` in later rounds, where it is also shown the best
 * `breadth` attempts so far for that predictor with their scores, worst
 * first. Each candidate replaces that predictor's instruction in the
 * current program (the others keep their best so far) and is scored on the
 * whole valset (a turn's proposals asked at once, its candidates scored at
 * once); a candidate that scores strictly higher than the current program
 * becomes the current one (greedy in candidate order, earliest wins ties).
 * A proposal identical to an earlier candidate of its predictor is not
 * scored again.
 *
 * Differences from DSPy: candidates are scored on the held-out valset (DSPy
 * scores COPRO on the trainset); proposals see labelled training rows (see
 * opt_exec_copro.c); a predictor's proposals for a round are asked just
 * before its turn, so they see the scores of this round's earlier
 * predictors; old candidates are not re-scored when another predictor
 * changes (the current program's score is always known, so the ascent
 * never goes down).
 */
#include <string.h>

#include "opt.h"
#include "rng.h"

enum { STREAM_DEMOS = 0x6364, SHOW = 24 };

typedef struct cp_cand {
    const char *instr;      /* NULL: the signature's own */
    double score;           /* valset mean when it was scored */
    unsigned round;         /* 0: the signature's */
    size_t index;           /* 1-based within its round */
} cp_cand;

typedef struct cp_pred {
    cp_cand *items;
    size_t n;
    size_t best;            /* the current choice */
} cp_pred;

typedef struct copro {
    const opt_params *p;
    const opt_backend *b;
    arena *a;
    size_t breadth;
    unsigned depth;
    const size_t *val;
    size_t n_val;
    cp_pred *preds;
    double score;           /* of the current program */
} copro;

static const char *text_of(const copro *c, size_t pred, const cp_cand *x)
{
    return x->instr ? x->instr : c->b->base_instructions[pred];
}

static const char *cand_label(const copro *c, size_t pred, const cp_cand *x)
{
    if (x->round == 0)
        return arena_printf(c->a, "%s: the signature's instruction", c->b->pred_names[pred]);
    return arena_printf(c->a, "%s: round %u candidate %zu", c->b->pred_names[pred], x->round, x->index);
}

/* The current program: every predictor's best so far, zero-shot. */
static opt_program current(const copro *c)
{
    opt_program prog = opt_program_zero_shot(c->b, c->a);
    for (size_t p = 0; p < c->b->n_preds; p++)
        ((const char **)prog.instructions)[p] = c->preds[p].items[c->preds[p].best].instr;
    return prog;
}

/* `input -> label` lines of up to SHOW labelled training rows, a seeded
 * sample of its own for every candidate (allocated in a). */
static dsp_status task_demos(const copro *c, arena *a, size_t pred, unsigned round, size_t cand, const char **out,
                             dsp_error *err)
{
    const opt_backend *b = c->b;
    size_t *rows = arena_array(a, b->n_train + 1, sizeof *rows);
    for (size_t i = 0; i < b->n_train; i++)
        rows[i] = i;
    rng r;
    rng_derive(&r, c->p->seed ^ ((uint64_t)round << 40) ^ ((uint64_t)pred << 24) ^ (uint64_t)cand, STREAM_DEMOS);
    rng_shuffle(&r, rows, b->n_train);
    opt_demo *items = arena_array(a, SHOW, sizeof *items);
    opt_demos shown = { items, 0 };
    for (size_t i = 0; i < b->n_train && shown.n < SHOW; i++) {
        int ok = 0;
        dsp_status st = b->labeled_demo(b->ctx, a, rows[i], pred, &items[shown.n], &ok, err);
        if (st != DSP_OK)
            return st;
        shown.n += ok != 0;
    }
    *out = opt_demos_text(a, &shown, SHOW);
    return DSP_OK;
}

static int by_score_desc(const cp_cand *x, const cp_cand *y)
{
    return x->score > y->score;
}

/* DSPy's attempts: the best `breadth` candidates of the predictor, listed
 * worst first so the best is last, with their scores. */
static const char *attempts_text(copro *c, size_t pred)
{
    const cp_pred *cp = &c->preds[pred];
    size_t *order = arena_array(c->a, cp->n + 1, sizeof *order);
    for (size_t i = 0; i < cp->n; i++)
        order[i] = i;
    /* Stable insertion sort, best first: earlier candidates win ties. */
    for (size_t i = 1; i < cp->n; i++)
        for (size_t j = i; j > 0 && by_score_desc(&cp->items[order[j]], &cp->items[order[j - 1]]); j--) {
            size_t t = order[j];
            order[j] = order[j - 1];
            order[j - 1] = t;
        }
    size_t k = cp->n < c->breadth ? cp->n : c->breadth;
    char *s = "";
    for (size_t i = 0; i < k; i++) {
        const cp_cand *x = &cp->items[order[k - 1 - i]];
        s = arena_printf(c->a, "%sInstruction #%zu: %s\nResulting Score #%zu: %.3f\n", s, i + 1, text_of(c, pred, x),
                         i + 1, x->score);
    }
    return s;
}

static void progress(const copro *c, const char *msg)
{
    if (c->b->progress)
        c->b->progress(c->b->ctx, msg);
}

static int seen(const copro *c, size_t pred, const char *instr)
{
    const cp_pred *cp = &c->preds[pred];
    for (size_t i = 0; i < cp->n; i++)
        if (strcmp(text_of(c, pred, &cp->items[i]), instr) == 0)
            return 1;
    return 0;
}

/* One predictor's proposals in a round (opt_parallel's tasks). */
typedef struct cp_turn {
    const copro *c;
    size_t pred;
    unsigned round;
    const char *attempts;
    const char **instrs;    /* [k]: candidate k + 1's proposal */
} cp_turn;

static dsp_status propose_one(void *ctx, size_t k, arena *a, dsp_error *err)
{
    const cp_turn *t = ctx;
    const opt_backend *b = t->c->b;
    size_t i = k + 1;
    opt_copro_proposal req;
    memset(&req, 0, sizeof req);
    req.pred = t->pred;
    req.basic_instruction = b->base_instructions[t->pred];
    req.attempts = t->attempts;
    req.temperature = t->c->p->init_temperature;
    /* Distinct per predictor, round and candidate, so the cache keeps
     * every sample apart. */
    req.rollout = ((uint64_t)t->round << 32) + ((uint64_t)i << 16) + t->pred + 1;
    dsp_status st = task_demos(t->c, a, t->pred, t->round, i, &req.task_demos, err);
    return st == DSP_OK ? b->propose_copro(b->ctx, a, &req, &t->instrs[k], err) : st;
}

/* One predictor's turn in a round: propose, score, keep the best. The
 * proposals depend on nothing but their seeds and the attempts shown (the
 * turn's start), and every candidate replaces this predictor's instruction
 * in the same program (the others' best): the proposals are asked at once,
 * then the new candidates scored at once (opt_evaluate_all), and taken in
 * candidate order, greedy as one at a time would be; the state is the same
 * at any -j. */
static dsp_status turn(copro *c, size_t pred, unsigned round, opt_result *out, dsp_error *err)
{
    const opt_backend *b = c->b;
    cp_pred *cp = &c->preds[pred];
    size_t n = round == 1 ? c->breadth - 1 : c->breadth;
    cp_turn t = { c, pred, round, round == 1 ? NULL : attempts_text(c, pred),
                  arena_array(c->a, n + 1, sizeof *t.instrs) };
    progress(c, arena_printf(c->a, "round %u/%u: proposing %zu instructions for %s", round, c->depth, n,
                             b->pred_names[pred]));
    dsp_status st = opt_parallel(b, c->a, n, propose_one, &t, err);
    if (st != DSP_OK)
        return st;
    size_t first = cp->n;
    opt_program *progs = arena_array(c->a, n + 1, sizeof *progs);
    for (size_t i = 1; i <= n; i++) {
        const char *instr = t.instrs[i - 1];
        if (seen(c, pred, instr)) {
            progress(c, arena_printf(c->a, "round %u/%u: %s candidate %zu repeats an earlier one; not scored again",
                                     round, c->depth, b->pred_names[pred], i));
            continue;
        }
        progs[cp->n - first] = current(c);
        ((const char **)progs[cp->n - first].instructions)[pred] = instr;
        cp->items[cp->n++] = (cp_cand){ instr, 0, round, i };
    }
    size_t m = cp->n - first;
    progress(c, arena_printf(c->a, "round %u/%u: %zu %s candidates on the valset (best %.3f)", round, c->depth, m,
                             b->pred_names[pred], c->score));
    opt_score *scores = arena_array(c->a, m + 1, sizeof *scores);
    st = opt_evaluate_all(b, progs, m, c->val, c->n_val, scores, err);
    if (st != DSP_OK)
        return st;
    for (size_t j = 0; j < m; j++) {
        cp_cand *x = &cp->items[first + j];
        x->score = scores[j].mean;
        int better = x->score > c->score;
        const char *label = cand_label(c, pred, x);
        opt_result_add_trial(out, c->a, &scores[j], 1, better ? arena_printf(c->a, "%s (new best)", label) : label);
        if (better) {
            cp->best = first + j;
            c->score = x->score;
        }
    }
    return DSP_OK;
}

static void add_stage(copro *c, opt_result *out, const char *label)
{
    opt_stage *s = arena_array(c->a, out->n_stages + 1, sizeof *s);
    if (out->n_stages)
        memcpy(s, out->stages, out->n_stages * sizeof *s);
    s[out->n_stages++] = (opt_stage){ .label = label, .score = c->score };
    out->stages = s;
}

/* After each round, its best: a progress line ("round 2/3: best 0.717
 * (M.a: round 2 candidate 4; M.b: the signature's instruction)") and a
 * stage of the result, which the summary prints. */
static void round_summary(copro *c, unsigned round, opt_result *out)
{
    char *who = "";
    for (size_t p = 0; p < c->b->n_preds; p++)
        who = arena_printf(c->a, "%s%s%s", who, p ? "; " : "",
                           cand_label(c, p, &c->preds[p].items[c->preds[p].best]));
    add_stage(c, out, arena_printf(c->a, "round %u best: %s", round, who));
    if (c->b->progress)
        progress(c, arena_printf(c->a, "round %u/%u: best %.3f (%s)", round, c->depth, c->score, who));
}

dsp_status opt_copro(const opt_params *p, const opt_backend *b, arena *a, opt_result *out, dsp_error *err)
{
    if (!b->propose_copro)
        return dsp_error_set(err, DSP_ERR_INVALID, "copro: this backend cannot propose instructions");
    if (p->breadth < 2)
        /* DSPy's rule: round 1 would have no candidate but the signature's. */
        return dsp_error_set(err, DSP_ERR_INVALID, "copro: breadth must be at least 2 (it is %d)", p->breadth);
    if (p->depth < 1)
        return dsp_error_set(err, DSP_ERR_INVALID, "copro: depth must be at least 1 (it is %d)", p->depth);
    copro c = { 0 };
    c.p = p;
    c.b = b;
    c.a = a;
    c.breadth = (size_t)p->breadth;
    c.depth = (unsigned)p->depth;
    c.val = opt_val_rows(b, a, p->seed, 0, &c.n_val);
    size_t per_pred = 1 + (c.breadth - 1) + (size_t)(c.depth - 1) * c.breadth;
    c.preds = arena_array(a, b->n_preds + 1, sizeof *c.preds);
    for (size_t i = 0; i < b->n_preds; i++)
        c.preds[i].items = arena_array(a, per_pred + 1, sizeof *c.preds[i].items);

    progress(&c, "round 0: the unoptimized program on the valset");
    opt_program prog = opt_program_zero_shot(b, a);
    opt_score s;
    dsp_status st = b->evaluate(b->ctx, &prog, c.val, c.n_val, &s, err);
    if (st != DSP_OK)
        return st;
    c.score = s.mean;
    out->baseline_score = c.score;
    opt_result_add_trial(out, a, &s, 1, "the signatures' instructions (baseline)");
    add_stage(&c, out, "baseline: the signatures' instructions");
    for (size_t i = 0; i < b->n_preds; i++) {
        c.preds[i].items[0] = (cp_cand){ NULL, c.score, 0, 0 };
        c.preds[i].n = 1;
    }
    for (unsigned round = 1; round <= c.depth; round++) {
        for (size_t i = 0; i < b->n_preds; i++) {
            st = turn(&c, i, round, out, err);
            if (st != DSP_OK)
                return st;
        }
        round_summary(&c, round, out);
    }
    out->best = current(&c);
    out->final_score = c.score;
    /* Distinct candidates scored per predictor (the most of any), the
     * signature's included. */
    for (size_t i = 0; i < b->n_preds; i++)
        if (c.preds[i].n > out->n_instruction_candidates)
            out->n_instruction_candidates = c.preds[i].n;
    const char ***cands = arena_array(c.a, b->n_preds + 1, sizeof *cands);
    size_t *nc = arena_array(c.a, b->n_preds + 1, sizeof *nc);
    for (size_t i = 0; i < b->n_preds; i++) {
        cands[i] = arena_array(c.a, c.preds[i].n + 1, sizeof **cands);
        for (size_t k = 0; k < c.preds[i].n; k++)
            cands[i][k] = c.preds[i].items[k].instr;
        nc[i] = c.preds[i].n;
    }
    out->candidates = (const char *const *const *)cands;
    out->n_candidates = nc;
    return DSP_OK;
}
