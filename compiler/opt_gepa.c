/* opt_gepa.c — gepa(auto, max_metric_calls, reflection_minibatch_size,
 * candidate_selection, use_merge): reflective prompt evolution with a
 * Pareto frontier (GEPA, Agrawal et al. 2025, arXiv 2507.19457).
 *
 * The pool starts with the program as written, scored on every valset row.
 * Each iteration:
 *   1. picks a parent: with `pareto` (the default), each valset row's best
 *      candidates form its front; candidates dominated by another (winning
 *      on a subset of its rows) are dropped, and a parent is drawn with
 *      probability proportional to the number of rows it leads on, so a
 *      candidate that is best on a few rows no other solves stays in play;
 *      with `current_best`, the best mean;
 *   2. runs the parent on the next `reflection_minibatch_size` training
 *      rows (an epoch-shuffled order) with traces and the metric's
 *      feedback; a minibatch it already solves perfectly is skipped;
 *   3. asks the reflection LM (the teacher) for a new instruction of one
 *      predictor (round robin per candidate), shown its current
 *      instruction and, for each run, that predictor's inputs, outputs and
 *      the feedback;
 *   4. runs the child on the same minibatch; only when its sum there beats
 *      the parent's is it scored on the valset and added to the pool.
 * Merge (use_merge): after an accepted child, two frontier candidates
 * descended from a common ancestor, each having changed something the
 * other lacks, are combined (each predictor from the side that changed
 * it; one both changed differently is combined by the reflection LM, so
 * what two branches learned meets even in a one-predictor program); the
 * merge is checked on a few valset rows first and joins the pool only
 * when it scores there at least as well as both parents.
 *
 * Budget: every program run that is scored counts as one metric call;
 * the search stops before an iteration that could exceed the budget. The
 * result is the candidate with the best valset mean (the earliest on ties).
 * With an `auto:` preset the Pareto set is a seeded sample of the valset
 * (at most mipro's sizes: 100, 300, 1000 rows) and the budget is DSPy's
 * for that sample; the program as written and the best 3 candidates are
 * then scored on the whole valset and the best there is kept (rescore).
 * Presets also default to 16-row minibatches and current_best (opt.c says
 * why).
 *
 * Determinism: minibatch order, parent draws and merges come from rng
 * streams of the seed; each proposal has its own rollout id, so a warm
 * cache replays a run exactly (and a killed run resumes from the cache).
 */
#include <stdio.h>
#include <string.h>

#include "opt.h"
#include "rng.h"

enum { STREAM_BATCH = 0x6762, STREAM_PICK = 0x6770, STREAM_MERGE = 0x676d, MERGE_ROWS = 5, RESCORE = 3 };

typedef struct gp_cand {
    const char **instr;     /* n_preds; NULL: the signature's */
    double *scores;         /* n_val */
    double mean;
    int parent, parent2;    /* -1: none; parent2 >= 0 only for merges */
    size_t next_pred;       /* round robin of its reflections */
    double whole;           /* its whole-valset mean, when a sampled search rescored it */
    int rescored;
    const char *origin;
} gp_cand;

typedef struct gepa {
    const opt_params *p;
    const opt_backend *b;
    arena *a;
    const size_t *val;
    size_t n_val;
    gp_cand *c;
    size_t n, cap;
    long used, budget;
    opt_batcher batches;    /* the trainset, shuffled per epoch */
    rng pick, merge;
    int merges_left;
    size_t *tried, n_tried; /* merged pairs (i, j), i < j: each is tried once */
    unsigned long proposals;
} gepa;

long opt_gepa_budget(const char *preset, size_t n_preds, size_t n_val)
{
    int n = 0;
    size_t cap = 0;
    if (opt_mipro_preset(preset, &n, &cap) != 0)
        return -1;
    /* DSPy's auto_budget with its minibatch of 35 and a full evaluation
     * every 5 trials. */
    enum { MB = 35, FULL_EVERY = 5 };
    long trials = opt_mipro_num_trials(2 * n_preds, (size_t)n);
    long total = (long)n_val + (long)n * 5 + trials * MB;
    long fulls = (trials + 1) / FULL_EVERY + 1 + (trials < FULL_EVERY);
    return total + fulls * (long)n_val;
}

static void progress(const gepa *g, const char *msg)
{
    if (g->b->progress)
        g->b->progress(g->b->ctx, msg);
}

static const char *instr_of(const gepa *g, const gp_cand *c, size_t pred)
{
    return c->instr[pred] ? c->instr[pred] : g->b->base_instructions[pred];
}

static opt_program program_of(const gepa *g, const gp_cand *c)
{
    opt_program prog = opt_program_zero_shot(g->b, g->a);
    for (size_t p = 0; p < g->b->n_preds; p++)
        ((const char **)prog.instructions)[p] = c->instr[p];
    return prog;
}

static gp_cand *new_cand(gepa *g, const gp_cand *from)
{
    if (g->n == g->cap) {
        size_t cap = g->cap ? 2 * g->cap : 16;
        gp_cand *c = arena_array(g->a, cap, sizeof *c);
        if (g->n)
            memcpy(c, g->c, g->n * sizeof *c);
        g->c = c;
        g->cap = cap;
    }
    gp_cand *c = &g->c[g->n];
    memset(c, 0, sizeof *c);
    c->instr = arena_array(g->a, g->b->n_preds + 1, sizeof *c->instr);
    if (from)
        memcpy(c->instr, from->instr, g->b->n_preds * sizeof *c->instr);
    c->scores = arena_array(g->a, g->n_val + 1, sizeof *c->scores);
    c->parent = c->parent2 = -1;
    return c;
}

/* Scores the candidate being built (g->c[g->n]) on the valset and adds it. */
static dsp_status admit(gepa *g, opt_result *out, dsp_error *err)
{
    gp_cand *c = &g->c[g->n];
    opt_program prog = program_of(g, c);
    opt_score sc;
    dsp_status st = g->b->evaluate_each(g->b->ctx, &prog, g->val, g->n_val, c->scores, &sc, err);
    if (st != DSP_OK)
        return st;
    g->used += (long)g->n_val;
    c->mean = sc.mean;
    opt_result_add_trial(out, g->a, &sc, 1, arena_printf(g->a, "candidate %zu: %s", g->n, c->origin));
    progress(g, arena_printf(g->a, "candidate %zu: %s: valset %.3f (%ld of %ld metric calls)", g->n, c->origin,
                             c->mean, g->used, g->budget));
    g->n++;
    return DSP_OK;
}

static size_t best_index(const gepa *g)
{
    size_t best = 0;
    for (size_t i = 1; i < g->n; i++)
        if (g->c[i].mean > g->c[best].mean)
            best = i;
    return best;
}

/* wins[i]: on how many valset rows candidate i ties the best score (rows
 * where every candidate scores 0 do not count); a
 * candidate whose set of such rows lies inside another's (and is smaller,
 * or equal and later) is dominated and gets 0. */
static size_t *frontier(const gepa *g)
{
    size_t *wins = arena_array(g->a, g->n + 1, sizeof *wins);
    unsigned char *lead = arena_array(g->a, g->n * g->n_val + 1, 1);
    for (size_t r = 0; r < g->n_val; r++) {
        double top = g->c[0].scores[r];
        for (size_t i = 1; i < g->n; i++)
            if (g->c[i].scores[r] > top)
                top = g->c[i].scores[r];
        if (top <= 0)
            continue; /* a row no candidate scores on tells them apart in nothing */
        for (size_t i = 0; i < g->n; i++)
            if (g->c[i].scores[r] >= top) {
                lead[i * g->n_val + r] = 1;
                wins[i]++;
            }
    }
    for (size_t i = 0; i < g->n; i++) {
        if (!wins[i])
            continue;
        for (size_t j = 0; j < g->n && wins[i]; j++) {
            if (j == i || !wins[j] || wins[j] < wins[i] || (wins[j] == wins[i] && j > i))
                continue;
            size_t r = 0;
            while (r < g->n_val && (!lead[i * g->n_val + r] || lead[j * g->n_val + r]))
                r++;
            if (r == g->n_val)
                wins[i] = 0; /* every row i leads on, j leads on too */
        }
    }
    return wins;
}

static size_t pick_parent(gepa *g)
{
    if (strcmp(g->p->candidate_selection, "current_best") == 0)
        return best_index(g);
    size_t *wins = frontier(g);
    size_t total = 0;
    for (size_t i = 0; i < g->n; i++)
        total += wins[i];
    if (!total)
        return best_index(g);
    size_t x = rng_below(&g->pick, total);
    for (size_t i = 0; i < g->n; i++) {
        if (x < wins[i])
            return i;
        x -= wins[i];
    }
    return best_index(g);
}

static double sum_runs(const opt_run *runs, size_t n)
{
    double s = 0;
    for (size_t i = 0; i < n; i++)
        s += runs[i].ok ? runs[i].score : 0;
    return s;
}

static int has_step(const opt_run *runs, size_t n, size_t pred)
{
    for (size_t i = 0; i < n; i++)
        for (size_t s = 0; s < runs[i].n_steps; s++)
            if (runs[i].steps[s].pred == pred)
                return 1;
    return 0;
}

/* 1: candidate a descends from b (or is b). */
static int descends(const gepa *g, int a, int b)
{
    if (a < 0)
        return 0;
    if (a == b)
        return 1;
    return descends(g, g->c[a].parent, b) || descends(g, g->c[a].parent2, b);
}

static int same_instr(const gepa *g, const gp_cand *x, const gp_cand *y, size_t pred)
{
    return strcmp(instr_of(g, x, pred), instr_of(g, y, pred)) == 0;
}

/* 1: a predictor x changed from an, set differently in y. */
static int brings(const gepa *g, const gp_cand *x, const gp_cand *y, const gp_cand *an)
{
    for (size_t p = 0; p < g->b->n_preds; p++)
        if (!same_instr(g, x, an, p) && !same_instr(g, x, y, p))
            return 1;
    return 0;
}

static int merge_tried(const gepa *g, size_t i, size_t j)
{
    for (size_t k = 0; k < g->n_tried; k++)
        if (g->tried[2 * k] == i && g->tried[2 * k + 1] == j)
            return 1;
    return 0;
}

/* Tries one merge of two frontier candidates with a common ancestor;
 * *done is 1 when a merge was scored (whether or not it was kept). */
static dsp_status try_merge(gepa *g, opt_result *out, int *done, dsp_error *err)
{
    *done = 0;
    size_t *wins = frontier(g);
    size_t n_pairs = 0;
    size_t *pi = arena_array(g->a, g->n * g->n + 1, sizeof *pi), *pj = arena_array(g->a, g->n * g->n + 1, sizeof *pj),
           *pa = arena_array(g->a, g->n * g->n + 1, sizeof *pa);
    for (size_t i = 0; i < g->n; i++)
        for (size_t j = i + 1; j < g->n; j++) {
            if (!wins[i] || !wins[j] || descends(g, (int)i, (int)j) || descends(g, (int)j, (int)i) ||
                merge_tried(g, i, j))
                continue;
            /* The latest common ancestor, where each side brings a change
             * the other lacks: a predictor only it changed, or (when the
             * reflection LM can combine two instructions) one both changed
             * differently. */
            for (size_t an = j; an-- > 0;) {
                if (!descends(g, (int)i, (int)an) || !descends(g, (int)j, (int)an))
                    continue;
                const gp_cand *x = &g->c[i], *y = &g->c[j], *c = &g->c[an];
                int i_only = 0, j_only = 0;
                for (size_t p = 0; p < g->b->n_preds; p++) {
                    int ci = !same_instr(g, x, c, p), cj = !same_instr(g, y, c, p);
                    i_only |= ci && !cj;
                    j_only |= cj && !ci;
                }
                if ((i_only && j_only) || (g->b->combine && brings(g, x, y, c) && brings(g, y, x, c))) {
                    pi[n_pairs] = i, pj[n_pairs] = j, pa[n_pairs] = an;
                    n_pairs++;
                }
                break;
            }
        }
    if (!n_pairs)
        return DSP_OK;
    size_t k = rng_below(&g->merge, n_pairs);
    size_t *tried = arena_array(g->a, 2 * g->n_tried + 3, sizeof *tried);
    if (g->n_tried)
        memcpy(tried, g->tried, 2 * g->n_tried * sizeof *tried);
    tried[2 * g->n_tried] = pi[k];
    tried[2 * g->n_tried + 1] = pj[k];
    g->tried = tried;
    g->n_tried++;
    gp_cand *m = new_cand(g, &g->c[pa[k]]);
    const gp_cand *x = &g->c[pi[k]], *y = &g->c[pj[k]], *an = &g->c[pa[k]]; /* new_cand may move the pool */
    const gp_cand *hi = x->mean >= y->mean ? x : y, *lo = hi == x ? y : x;
    const char *combined = "";
    for (size_t p = 0; p < g->b->n_preds; p++) {
        int cx = !same_instr(g, x, an, p), cy = !same_instr(g, y, an, p);
        if (cx && cy && !same_instr(g, x, y, p) && g->b->combine) {
            opt_combination req = { p, instr_of(g, hi, p), instr_of(g, lo, p), ++g->proposals };
            const char *instr = NULL;
            dsp_status st = g->b->combine(g->b->ctx, g->a, &req, &instr, err);
            if (st != DSP_OK)
                return st;
            m->instr[p] = instr;
            combined = arena_printf(g->a, "%s%s%s", combined, *combined ? ", " : "; combined: ", g->b->pred_names[p]);
        } else if (cx && (!cy || x->mean >= y->mean)) {
            m->instr[p] = x->instr[p];
        } else if (cy) {
            m->instr[p] = y->instr[p];
        }
    }
    m->parent = (int)pi[k];
    m->parent2 = (int)pj[k];
    m->origin = arena_printf(g->a, "merge of %zu and %zu (common ancestor %zu%s)", pi[k], pj[k], pa[k], combined);
    /* A few valset rows first, where both parents' scores are known. */
    size_t nr = g->n_val < MERGE_ROWS ? g->n_val : MERGE_ROWS;
    size_t *idx = arena_array(g->a, g->n_val + 1, sizeof *idx);
    for (size_t i = 0; i < g->n_val; i++)
        idx[i] = i;
    rng_shuffle(&g->merge, idx, g->n_val);
    size_t *rows = arena_array(g->a, nr + 1, sizeof *rows);
    double *sc = arena_array(g->a, nr + 1, sizeof *sc);
    double sx = 0, sy = 0, sm = 0;
    for (size_t i = 0; i < nr; i++) {
        rows[i] = g->val[idx[i]];
        sx += x->scores[idx[i]];
        sy += y->scores[idx[i]];
    }
    opt_program prog = program_of(g, m);
    opt_score check;
    dsp_status st = g->b->evaluate_each(g->b->ctx, &prog, rows, nr, sc, &check, err);
    if (st != DSP_OK)
        return st;
    g->used += (long)nr;
    g->merges_left--;
    *done = 1;
    for (size_t i = 0; i < nr; i++)
        sm += sc[i];
    if (sm < sx || sm < sy) {
        progress(g, arena_printf(g->a, "%s: %.0f on %zu valset rows, parents %.0f and %.0f; not kept", m->origin, sm,
                                 nr, sx, sy));
        opt_result_add_trial(out, g->a, &check, 0, arena_printf(g->a, "%s (not kept)", m->origin));
        return DSP_OK;
    }
    return admit(g, out, err);
}

/* One reflective mutation; *spent is 1 when it used any budget. */
static dsp_status reflect_step(gepa *g, size_t it, opt_result *out, dsp_error *err)
{
    const opt_backend *b = g->b;
    size_t k = (size_t)g->p->reflection_minibatch_size;
    size_t parent = pick_parent(g);
    gp_cand *pc = &g->c[parent];
    size_t pred = pc->next_pred++ % b->n_preds;
    size_t *rows = arena_array(g->a, k + 1, sizeof *rows);
    opt_batcher_next(&g->batches, rows, k);
    opt_program prog = program_of(g, pc);
    opt_run *runs = arena_array(g->a, k + 1, sizeof *runs);
    dsp_status st = b->run_feedback(b->ctx, g->a, &prog, rows, k, runs, err);
    if (st != DSP_OK)
        return st;
    g->used += (long)k;
    double before = sum_runs(runs, k);
    int perfect = 1;
    for (size_t i = 0; i < k; i++)
        perfect &= runs[i].ok && runs[i].score >= 1.0;
    if (perfect) {
        progress(g, arena_printf(g->a, "iteration %zu: candidate %zu solves its minibatch; skipped", it, parent));
        return DSP_OK;
    }
    if (!has_step(runs, k, pred)) {
        progress(g, arena_printf(g->a, "iteration %zu: %s did not run on the minibatch; skipped", it,
                                 b->pred_names[pred]));
        return DSP_OK;
    }
    opt_reflection req = { pred, instr_of(g, pc, pred), runs, k, ++g->proposals };
    progress(g, arena_printf(g->a, "iteration %zu: reflecting on %s of candidate %zu", it, b->pred_names[pred], parent));
    const char *instr = NULL;
    st = b->reflect(b->ctx, g->a, &req, &instr, err);
    if (st != DSP_OK)
        return st;
    if (strcmp(instr, instr_of(g, &g->c[parent], pred)) == 0) {
        progress(g, arena_printf(g->a, "iteration %zu: the proposal repeats the instruction; rejected", it));
        return DSP_OK;
    }
    gp_cand *child = new_cand(g, &g->c[parent]);
    child->instr[pred] = instr;
    opt_program cprog = program_of(g, child);
    opt_run *cruns = arena_array(g->a, k + 1, sizeof *cruns);
    st = b->run_feedback(b->ctx, g->a, &cprog, rows, k, cruns, err);
    if (st != DSP_OK)
        return st;
    g->used += (long)k;
    double after = sum_runs(cruns, k);
    child->parent = (int)parent;
    child->origin = arena_printf(g->a, "%s reflected from candidate %zu (minibatch %.2f -> %.2f)",
                                 b->pred_names[pred], parent, before, after);
    if (after <= before) {
        progress(g, arena_printf(g->a, "iteration %zu: %s; rejected", it, child->origin));
        opt_score ms = { .mean = after / (double)k, .n = k };
        for (size_t i = 0; i < k; i++)
            ms.n_failed += !cruns[i].ok;
        opt_result_add_trial(out, g->a, &ms, 0, arena_printf(g->a, "%s (rejected)", child->origin));
        return DSP_OK;
    }
    st = admit(g, out, err);
    if (st != DSP_OK || !g->p->use_merge)
        return st;
    /* DSPy schedules a merge after a new candidate is found. */
    int merged = 0;
    if (g->merges_left > 0 && g->used + (long)MERGE_ROWS + (long)g->n_val <= g->budget)
        st = try_merge(g, out, &merged, err);
    return st;
}

static void add_stage(gepa *g, opt_result *out, const char *label, double score, int kept)
{
    opt_stage *s = arena_array(g->a, out->n_stages + 1, sizeof *s);
    if (out->n_stages)
        memcpy(s, out->stages, out->n_stages * sizeof *s);
    s[out->n_stages++] = (opt_stage){ .label = label, .score = score, .kept = kept };
    out->stages = s;
}

/* text on one line: line breaks as " / ". */
static const char *folded(arena *a, const char *text)
{
    char *s = "";
    for (const char *p = text; *p;) {
        size_t n = strcspn(p, "\n");
        s = arena_printf(a, "%s%s%.*s", s, *s ? " / " : "", (int)n, p);
        p += n;
        while (*p == '\n')
            p++;
    }
    return s;
}

/* The stages the summary and report print: every candidate with its
 * lineage, frontier share, whole-valset score when a sampled search
 * rescored it, and instructions; `kept` marks the one shipped. */
static void describe(gepa *g, opt_result *out, size_t kept)
{
    /* The report's per-predictor lists: candidate i's full instruction
     * (NULL: the signature's) at index i, as the stages number them. */
    const char ***cands = arena_array(g->a, g->b->n_preds + 1, sizeof *cands);
    size_t *n_cands = arena_array(g->a, g->b->n_preds + 1, sizeof *n_cands);
    for (size_t p = 0; p < g->b->n_preds; p++) {
        cands[p] = arena_array(g->a, g->n + 1, sizeof **cands);
        for (size_t i = 0; i < g->n; i++)
            cands[p][i] = g->c[i].instr[p];
        n_cands[p] = g->n;
    }
    out->candidates = (const char *const *const *)cands;
    out->n_candidates = n_cands;
    size_t *wins = frontier(g);
    for (size_t i = 0; i < g->n; i++) {
        const gp_cand *c = &g->c[i];
        char *s = arena_printf(g->a, "candidate %zu", i);
        if (c->parent2 >= 0)
            s = arena_printf(g->a, "%s <- %d + %d", s, c->parent, c->parent2);
        else if (c->parent >= 0)
            s = arena_printf(g->a, "%s <- %d", s, c->parent);
        s = arena_printf(g->a, wins[i] ? "%s, frontier (best on %zu valset rows)" : "%s", s, wins[i]);
        if (c->rescored)
            s = arena_printf(g->a, "%s, %.4f on the whole valset", s, c->whole);
        for (size_t p = 0; p < g->b->n_preds; p++)
            if (c->instr[p])
                s = arena_printf(g->a, "%s; %s: %s", s, g->b->pred_names[p], folded(g->a, c->instr[p]));
        add_stage(g, out, i ? s : arena_printf(g->a, "%s (the program as written)", s), c->mean, i == kept);
    }
}

/* After a search on a sample of the valset: the program as written and
 * the RESCORE best other candidates (by their sample mean) are scored on
 * the whole valset (all[n_all]), and the best there is kept (the earlier
 * on ties), so the headline score is a whole-valset score. */
static dsp_status rescore(gepa *g, const size_t *all, size_t n_all, opt_result *out, size_t *best, dsp_error *err)
{
    size_t *rank = arena_array(g->a, g->n + 1, sizeof *rank), k = 0;
    rank[k++] = 0;
    for (size_t r = 0; r < RESCORE && r + 1 < g->n; r++) {
        size_t top = 0;
        for (size_t i = 1; i < g->n; i++) {
            int taken = 0;
            for (size_t j = 0; j < k; j++)
                taken |= rank[j] == i;
            if (!taken && (!top || g->c[i].mean > g->c[top].mean))
                top = i;
        }
        rank[k++] = top;
    }
    progress(g, arena_printf(g->a, "the program as written and the top %zu candidates, on all %zu %s examples", k - 1,
                             n_all, opt_valset_name(g->b)));
    /* The k evaluations depend on nothing but their programs: at once
     * (opt_evaluate_all), their trials added in rank order, as scoring
     * them in turn would. */
    opt_program *progs = arena_array(g->a, k, sizeof *progs);
    opt_score *scores = arena_array(g->a, k, sizeof *scores);
    for (size_t i = 0; i < k; i++)
        progs[i] = program_of(g, &g->c[rank[i]]);
    dsp_status st = opt_evaluate_all(g->b, progs, k, all, n_all, scores, err);
    if (st != DSP_OK)
        return st;
    char *whole = "";
    for (size_t i = 0; i < k; i++) {
        gp_cand *c = &g->c[rank[i]];
        const opt_score *s = &scores[i];
        opt_result_add_trial(out, g->a, s, 1, arena_printf(g->a, "candidate %zu, on the whole valset", rank[i]));
        whole = arena_printf(g->a, "%s%scandidate %zu %.4f", whole, i ? ", " : "", rank[i], s->mean);
        c->whole = s->mean;
        c->rescored = 1;
        if (i == 0)
            out->baseline_score = s->mean;
        if (i == 0 || s->mean > out->final_score) {
            *best = rank[i];
            out->best = progs[i];
            out->final_score = s->mean;
        }
    }
    out->n_rescored = k - 1;
    opt_result_add_note(out, g->a,
                        arena_printf(g->a,
                                     "gepa searched on %zu of %zu %s examples (a seeded sample: auto: %s caps the "
                                     "Pareto set); on all %zu: %s; the best there was kept",
                                     g->n_val, n_all, opt_valset_name(g->b), g->p->preset, n_all, whole));
    return DSP_OK;
}

dsp_status opt_gepa(const opt_params *p, const opt_backend *b, arena *a, opt_result *out, dsp_error *err)
{
    if (!b->evaluate_each || !b->run_feedback || !b->reflect)
        return dsp_error_set(err, DSP_ERR_INVALID, "gepa: this backend cannot run reflections");
    if (p->reflection_minibatch_size < 1)
        return dsp_error_set(err, DSP_ERR_INVALID, "gepa: reflection_minibatch_size must be at least 1");
    gepa g;
    memset(&g, 0, sizeof g);
    g.p = p;
    g.b = b;
    g.a = a;
    size_t n_all;
    const size_t *all = opt_val_rows(b, a, p->seed, 0, &n_all);
    g.val = opt_val_rows(b, a, p->seed, p->valset_cap, &g.n_val);
    out->n_search = g.n_val;
    if (g.n_val < n_all)
        progress(&g, arena_printf(a, "searching on %zu of %zu %s examples (a seeded sample: auto: %s caps the "
                                     "Pareto set); the best candidates are scored on all %zu at the end",
                                  g.n_val, n_all, opt_valset_name(b), p->preset, n_all));
    opt_batcher_init(&g.batches, a, b->n_train, p->seed, STREAM_BATCH);
    g.budget = p->max_metric_calls > 0 ? p->max_metric_calls : opt_gepa_budget(p->preset, b->n_preds, g.n_val);
    if (g.budget < 0)
        return dsp_error_set(err, DSP_ERR_INVALID, "gepa: unknown preset `auto: %s` (light, medium, heavy)",
                             p->preset);
    if (g.budget < (long)g.n_val)
        return dsp_error_set(err, DSP_ERR_INVALID,
                             "gepa: max_metric_calls %ld is below the valset's %zu rows; the program as written "
                             "could not even be scored once (raise it, or use a smaller valset)",
                             g.budget, g.n_val);
    /* After the baseline's pass, one candidate costs a minibatch for its
     * parent and itself, then a valset pass: a budget without room for one
     * would score the program as written and stop, proposing nothing. */
    long step = 2L * p->reflection_minibatch_size + (long)g.n_val;
    if (g.budget < (long)g.n_val + step)
        return dsp_error_set(err, DSP_ERR_INVALID,
                             "gepa: %s %ld leaves %ld metric calls after the program as written is scored on the "
                             "valset's %zu rows, and one candidate needs %ld (2 x reflection_minibatch_size %d, "
                             "then the %zu rows): nothing would be proposed; raise it to at least %ld, or use a "
                             "smaller valset",
                             p->max_metric_calls > 0 ? "max_metric_calls" : "the preset's budget", g.budget,
                             g.budget - (long)g.n_val, g.n_val, step, p->reflection_minibatch_size, g.n_val,
                             (long)g.n_val + step);
    g.merges_left = p->use_merge ? p->max_merge_invocations : 0;
    rng_derive(&g.pick, p->seed, STREAM_PICK);
    rng_derive(&g.merge, p->seed, STREAM_MERGE);

    progress(&g, "the program as written on the valset");
    gp_cand *c0 = new_cand(&g, NULL);
    c0->origin = "the program as written (baseline)";
    dsp_status st = admit(&g, out, err);
    if (st != DSP_OK)
        return st;
    out->baseline_score = g.c[0].mean;
    for (size_t it = 1; st == DSP_OK && g.used + step <= g.budget; it++)
        st = reflect_step(&g, it, out, err);
    if (st != DSP_OK)
        return st;
    size_t best = best_index(&g);
    out->best = program_of(&g, &g.c[best]);
    out->final_score = g.c[best].mean;
    out->n_instruction_candidates = g.n;
    if (g.n_val < n_all && (st = rescore(&g, all, n_all, out, &best, err)) != DSP_OK)
        return st;
    describe(&g, out, best);
    progress(&g, arena_printf(a, "kept candidate %zu (valset %.3f) after %ld metric calls", best, out->final_score,
                              g.used));
    return DSP_OK;
}
