/* propose.c — write a task instruction with per-label keyword hints from
 * the labelled examples of an instruction-proposal prompt (see propose.h). */
#include "propose.h"

#include <ctype.h>
#include <stdlib.h>
#include <string.h>
#include <strings.h>

enum { MAX_LABELS = 64, MIN_KEYWORDS = 2, KEYWORD_SPAN = 6 };

typedef struct labelled {
    const char *text;
    const char *label;
} labelled;

static char *trim(rs_arena *a, const char *s, const char *e)
{
    while (s < e && isspace((unsigned char)*s))
        s++;
    while (e > s && isspace((unsigned char)e[-1]))
        e--;
    return rs_strndup(a, s, (size_t)(e - s));
}

static char *unquote(char *s)
{
    size_t n = strlen(s);
    while (n && (s[n - 1] == '.' || s[n - 1] == ','))
        s[--n] = '\0';
    while (n >= 2 && (s[0] == '"' || s[0] == '\'' || s[0] == '`') && s[n - 1] == s[0]) {
        s[n - 1] = '\0';
        s++;
        n -= 2;
    }
    return s;
}

/* Lines "input -> label" (an optional "- " or "3. " in front) of every input. */
static labelled *collect_examples(rs_arena *a, const rs_task *t, size_t *n)
{
    size_t cap = 16, cnt = 0;
    labelled *ex = rs_alloc(a, cap * sizeof *ex);
    for (size_t k = 0; k < t->n_in; k++) {
        for (const char *p = t->query[k]; p && *p;) {
            const char *e = strchr(p, '\n');
            if (!e)
                e = p + strlen(p);
            const char *arrow = NULL;
            for (const char *q = p; q + 4 <= e; q++)
                if (memcmp(q, " -> ", 4) == 0)
                    arrow = q; /* the last arrow: inputs may contain one */
            if (arrow) {
                const char *s = p;
                while (s < arrow && (isspace((unsigned char)*s) || *s == '-' || *s == '*'))
                    s++;
                const char *d = s;
                while (d < arrow && isdigit((unsigned char)*d))
                    d++;
                if (d > s && d < arrow && (*d == '.' || *d == ')'))
                    s = d + 1;
                char *text = unquote(trim(a, s, arrow));
                char *label = unquote(trim(a, arrow + 4, e));
                if (*text && *label && strlen(label) < 64) {
                    if (cnt == cap) {
                        ex = rs_grow(a, ex, cnt * sizeof *ex, cap * 2 * sizeof *ex);
                        cap *= 2;
                    }
                    ex[cnt].text = text;
                    ex[cnt].label = label;
                    cnt++;
                }
            }
            p = *e ? e + 1 : e;
        }
    }
    *n = cnt;
    return ex;
}

/* The input that holds the task: an instruction-like field, else none. */
static const char *task_sentence(rs_arena *a, const rs_task *t)
{
    static const char *const k_names[] = {"basic_instruction", "current_instruction", "instruction",
                                          "task", "task_description"};
    for (size_t i = 0; i < sizeof k_names / sizeof k_names[0]; i++) {
        int k = rs_field_index(t->in, t->n_in, k_names[i]);
        if (k < 0 || !t->query[k] || !*t->query[k])
            continue;
        /* Its first line only: any earlier hint lines are replaced. */
        const char *s = t->query[k];
        const char *e = strchr(s, '\n');
        return trim(a, s, e ? e : s + strlen(s));
    }
    return NULL;
}

typedef struct cand {
    uint32_t id;
    double score;
    unsigned count;
} cand;

static int cmp_cand(const void *x, const void *y)
{
    const cand *a = x, *b = y;
    if (a->score != b->score)
        return a->score < b->score ? 1 : -1;
    if (a->count != b->count)
        return a->count < b->count ? 1 : -1;
    return (a->id > b->id) - (a->id < b->id);
}

const char *rs_propose_instruction(rs_arena *a, const rs_task *t, const rs_gen *g)
{
    size_t nex;
    labelled *ex = collect_examples(a, t, &nex);

    const char *labels[MAX_LABELS];
    size_t nl = 0;
    size_t *lab = rs_alloc(a, (nex + 1) * sizeof *lab);
    for (size_t i = 0; i < nex; i++) {
        size_t l = 0;
        while (l < nl && strcasecmp(labels[l], ex[i].label) != 0)
            l++;
        if (l == nl) {
            if (nl == MAX_LABELS) {
                lab[i] = SIZE_MAX;
                continue;
            }
            labels[nl++] = ex[i].label;
        }
        lab[i] = l;
    }

    /* The tip and the seed pick how many keywords per label and which
     * wording, so a proposal step gets different candidates to compare. */
    int tip = rs_field_index(t->in, t->n_in, "tip");
    const char *tip_text = tip >= 0 && t->query[tip] ? t->query[tip] : "";
    uint64_t var = rs_mix(g->seed ^ rs_hash(tip_text, strlen(tip_text), 17));
    size_t nkw = MIN_KEYWORDS + (size_t)(var % KEYWORD_SPAN);

    rs_buf b;
    rs_buf_init(&b, a);
    const char *task = task_sentence(a, t);
    if (task) {
        rs_buf_puts(&b, task);
    } else if (nl) {
        static const char *const k_openers[] = {
            "Classify the input into exactly one of the labels",
            "Read the input carefully and choose the single best label",
            "Decide which category the input belongs to",
        };
        rs_buf_puts(&b, k_openers[(var >> 8) % 3]);
        rs_buf_puts(&b, ": ");
        for (size_t l = 0; l < nl; l++)
            rs_buf_printf(&b, "%s%s", l ? ", " : "", labels[l]);
        rs_buf_puts(&b, ".");
    } else {
        rs_buf_puts(&b, "Read the inputs and produce the requested outputs accurately.");
    }
    /* The tip only steers the choices above; its text (DSPy's tips talk
     * about writing instructions) would read oddly inside one. */
    static const char *const k_closers[] = {"", " Answer with the label only.", " Read the whole input before deciding."};
    rs_buf_puts(&b, k_closers[(var >> 16) % 3]);
    if (nl == 0)
        return rs_buf_str(&b);

    /* Per label, the share of its examples containing each word, minus the
     * largest share among the other labels: distinctive words score high. */
    rs_vocab v;
    rs_vocab_init(&v, a);
    rs_vec *vecs = rs_alloc(a, (nex + 1) * sizeof *vecs);
    for (size_t i = 0; i < nex; i++) {
        rs_tokens toks;
        rs_tokenize(&v, ex[i].text, strlen(ex[i].text), &toks);
        rs_vec_counts(a, &toks, &vecs[i]);
    }
    size_t nw = v.n;
    double *share = rs_alloc(a, (nl * nw + 1) * sizeof *share);
    size_t *per = rs_alloc(a, nl * sizeof *per);
    for (size_t i = 0; i < nex; i++) {
        if (lab[i] == SIZE_MAX)
            continue;
        per[lab[i]]++;
        for (size_t k = 0; k < vecs[i].n; k++)
            share[lab[i] * nw + vecs[i].ids[k]] += 1;
    }
    for (size_t l = 0; l < nl; l++)
        for (size_t w = 0; w < nw; w++)
            share[l * nw + w] /= (double)(per[l] ? per[l] : 1);

    rs_buf_puts(&b, "\nLabel hints (label: keywords that point to it):");
    cand *cands = rs_alloc(a, (nw + 1) * sizeof *cands);
    for (size_t l = 0; l < nl; l++) {
        size_t nc = 0;
        for (size_t w = 0; w < nw; w++) {
            double mine = share[l * nw + w], other = 0;
            if (mine <= 0)
                continue;
            for (size_t m = 0; m < nl; m++)
                if (m != l && share[m * nw + w] > other)
                    other = share[m * nw + w];
            if (mine - other <= 0)
                continue;
            cands[nc].id = (uint32_t)w;
            cands[nc].score = mine - other;
            cands[nc].count = (unsigned)(mine * (double)per[l] + 0.5);
            nc++;
        }
        qsort(cands, nc, sizeof *cands, cmp_cand);
        rs_buf_printf(&b, "\n%s: ", labels[l]);
        for (size_t k = 0; k < nc && k < nkw; k++)
            rs_buf_printf(&b, "%s%s", k ? ", " : "", v.surface[cands[k].id]);
    }
    return rs_buf_str(&b);
}
