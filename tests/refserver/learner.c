/* learner.c — the deterministic in-context learner (see learner.h). */
#include "learner.h"

#include <ctype.h>
#include <math.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <strings.h>

#include <cjson/cJSON.h>

#include "combine.h"
#include "extract.h"
#include "propose.h"
#include "reflect.h"

enum {
    KNN_K = 5,         /* neighbours that vote */
    TOP_SAMPLE = 3,    /* candidates that temperature sampling considers */
    REASON_WORDS = 3,  /* evidence words a reasoning sentence names */
    FALLBACK_WORDS = 25
};

/* Evidence weights. A matched hint keyword counts about as much as one very
 * close demo; a label name in the input is a weak clue on purpose, so that
 * zero-shot stays poor and demos and hints measurably help. */
static const double k_hint_weight = 0.6;
static const double k_name_weight = 0.3;
static const double k_tau = 0.25; /* softmax temperature scale */

typedef struct doc {
    rs_tokens toks;
    rs_vec vec;
} doc;

typedef struct ctx {
    rs_arena *a;
    const rs_task *t;
    const rs_gen *g;
    rs_vocab vocab;
    doc query;
    doc *demos;
    float *sim; /* per demo */
    /* Evidence from the first classified field, for the reasoning sentence. */
    const char *label;
    int nearest_demo;
    uint32_t words[REASON_WORDS];
    size_t n_words;
    bool hint_used;
} ctx;

static const char *join_inputs(rs_arena *a, const char **vals, size_t n)
{
    rs_buf b;
    rs_buf_init(&b, a);
    for (size_t i = 0; i < n; i++)
        if (vals && vals[i]) {
            rs_buf_puts(&b, vals[i]);
            rs_buf_add(&b, "\n", 1);
        }
    return rs_buf_str(&b);
}

static void build_docs(ctx *c)
{
    const rs_task *t = c->t;
    rs_vocab_init(&c->vocab, c->a);
    c->demos = rs_alloc(c->a, (t->n_demos + 1) * sizeof *c->demos);
    c->sim = rs_alloc(c->a, (t->n_demos + 1) * sizeof *c->sim);
    const char *q = join_inputs(c->a, t->query, t->n_in);
    rs_tokenize(&c->vocab, q, strlen(q), &c->query.toks);
    rs_vec_counts(c->a, &c->query.toks, &c->query.vec);
    rs_vocab_count_df(&c->vocab, &c->query.vec);
    for (size_t i = 0; i < t->n_demos; i++) {
        const char *s = join_inputs(c->a, t->demos[i].in, t->n_in);
        rs_tokenize(&c->vocab, s, strlen(s), &c->demos[i].toks);
        rs_vec_counts(c->a, &c->demos[i].toks, &c->demos[i].vec);
        rs_vocab_count_df(&c->vocab, &c->demos[i].vec);
    }
    size_t nd = t->n_demos + 1;
    rs_vec_tfidf(&c->query.vec, &c->vocab, nd);
    for (size_t i = 0; i < t->n_demos; i++) {
        rs_vec_tfidf(&c->demos[i].vec, &c->vocab, nd);
        c->sim[i] = rs_vec_dot(&c->query.vec, &c->demos[i].vec);
    }
    c->nearest_demo = -1;
}

static bool query_has(const ctx *c, uint32_t id)
{
    const rs_vec *v = &c->query.vec;
    size_t lo = 0, hi = v->n;
    while (lo < hi) {
        size_t mid = (lo + hi) / 2;
        if (v->ids[mid] == id)
            return true;
        if (v->ids[mid] < id)
            lo = mid + 1;
        else
            hi = mid;
    }
    return false;
}

/* --- label hints ------------------------------------------------------- */

static void parse_hint_segment(rs_vocab *v, const char *s, const char *e, const char *const *labels,
                               size_t n, rs_tokens *hints)
{
    while (s < e && (isspace((unsigned char)*s) || *s == '-' || *s == '*'))
        s++;
    const char *colon = memchr(s, ':', (size_t)(e - s));
    if (!colon)
        return;
    const char *le = colon;
    while (le > s && isspace((unsigned char)le[-1]))
        le--;
    /* Labels may be quoted or in backticks. */
    while (le - s >= 2 && (*s == '`' || *s == '"' || *s == '\'') && le[-1] == *s)
        s++, le--;
    size_t ll = (size_t)(le - s);
    for (size_t i = 0; i < n; i++) {
        if (strlen(labels[i]) != ll || strncasecmp(labels[i], s, ll) != 0)
            continue;
        rs_tokens more;
        rs_tokenize(v, colon + 1, (size_t)(e - colon - 1), &more);
        uint32_t *ids = rs_alloc(v->arena, (hints[i].n + more.n + 1) * sizeof *ids);
        if (hints[i].n)
            memcpy(ids, hints[i].ids, hints[i].n * sizeof *ids);
        if (more.n)
            memcpy(ids + hints[i].n, more.ids, more.n * sizeof *ids);
        hints[i].ids = ids;
        hints[i].n += more.n;
        return;
    }
}

void rs_parse_hints(rs_vocab *v, const char *instr, const char *const *labels, size_t n,
                    rs_tokens *hints)
{
    for (size_t i = 0; i < n; i++)
        hints[i].n = 0, hints[i].ids = NULL;
    const char *p = instr;
    while (p && *p) {
        const char *e = p;
        while (*e && *e != '\n' && *e != ';')
            e++;
        parse_hint_segment(v, p, e, labels, n, hints);
        p = *e ? e + 1 : e;
    }
}

/* --- choosing among scored candidates ---------------------------------- */

/* Index of the candidate to answer: argmax at temperature 0 (ties: the
 * lowest index); above 0 a softmax draw among the top few. When every score
 * is zero there is no evidence and the pick is a guess from `guess`. */
static int choose(const double *score, size_t n, double temperature, uint64_t *rng, uint64_t guess)
{
    if (n == 0)
        return -1;
    int best = 0;
    for (size_t i = 1; i < n; i++)
        if (score[i] > score[best])
            best = (int)i;
    if (score[best] <= 0) {
        if (temperature > 0)
            return (int)(rs_mix(*rng += 0x9e37) % n);
        return (int)(guess % n);
    }
    if (temperature <= 0)
        return best;
    int top[TOP_SAMPLE];
    size_t nt = 0;
    bool *used = calloc(n, 1);
    if (!used)
        return best;
    while (nt < TOP_SAMPLE) {
        int b = -1;
        for (size_t i = 0; i < n; i++)
            if (!used[i] && (b < 0 || score[i] > score[b]))
                b = (int)i;
        if (b < 0 || score[b] <= 0)
            break;
        used[b] = true;
        top[nt++] = b;
    }
    free(used);
    double w[TOP_SAMPLE], sum = 0;
    for (size_t i = 0; i < nt; i++) {
        w[i] = exp((score[top[i]] - score[best]) / (k_tau * temperature));
        sum += w[i];
    }
    double r = rs_rand01(rng) * sum;
    for (size_t i = 0; i < nt; i++) {
        if (r < w[i])
            return top[i];
        r -= w[i];
    }
    return top[nt - 1];
}

/* Demo indices that have output field f, by similarity (best first). */
static size_t ranked_demos(const ctx *c, size_t f, int *order)
{
    size_t n = 0;
    for (size_t i = 0; i < c->t->n_demos; i++)
        if (c->t->demos[i].out[f])
            order[n++] = (int)i;
    /* Insertion sort: demo counts are small and this keeps ties in prompt
     * order, which keeps answers stable. */
    for (size_t i = 1; i < n; i++) {
        int x = order[i];
        size_t j = i;
        while (j > 0 && c->sim[order[j - 1]] < c->sim[x]) {
            order[j] = order[j - 1];
            j--;
        }
        order[j] = x;
    }
    return n;
}

/* --- classification ---------------------------------------------------- */

static const char *const k_bool_labels[] = {"True", "False"};

static int bool_label(const char *v)
{
    if (!v)
        return -1;
    while (isspace((unsigned char)*v))
        v++;
    if (strncasecmp(v, "true", 4) == 0 || strncasecmp(v, "yes", 3) == 0)
        return 0;
    if (strncasecmp(v, "false", 5) == 0 || strncasecmp(v, "no", 2) == 0)
        return 1;
    return -1;
}

static void note_words(ctx *c, const uint32_t *ids, size_t n)
{
    for (size_t i = 0; i < n && c->n_words < REASON_WORDS; i++) {
        bool dup = false;
        for (size_t j = 0; j < c->n_words; j++)
            dup |= c->words[j] == ids[i];
        if (!dup)
            c->words[c->n_words++] = ids[i];
    }
}

static const char *classify(ctx *c, size_t f, uint64_t *rng)
{
    const rs_field *fd = &c->t->out[f];
    const char *const *labels = fd->kind == RS_BOOL ? k_bool_labels : fd->enum_values;
    size_t nl = fd->kind == RS_BOOL ? 2 : fd->n_enum;
    double *score = rs_alloc(c->a, nl * sizeof *score);

    /* Nearest demos vote with their similarity. */
    int *order = rs_alloc(c->a, (c->t->n_demos + 1) * sizeof *order);
    size_t nr = ranked_demos(c, f, order);
    size_t voted = 0;
    for (size_t i = 0; i < nr && voted < KNN_K; i++) {
        int d = order[i];
        if (c->sim[d] <= 0)
            break;
        const char *v = c->t->demos[d].out[f];
        int l = fd->kind == RS_BOOL ? bool_label(v) : rs_match_label(labels, nl, v);
        if (l < 0)
            continue;
        score[l] += c->sim[d];
        voted++;
    }

    /* Keyword hints from the instructions. */
    rs_tokens *hints = rs_alloc(c->a, nl * sizeof *hints);
    rs_parse_hints(&c->vocab, c->t->instructions, labels, nl, hints);
    uint32_t **hit = rs_alloc(c->a, nl * sizeof *hit);
    size_t *nhit = rs_alloc(c->a, nl * sizeof *nhit);
    for (size_t l = 0; l < nl; l++) {
        hit[l] = rs_alloc(c->a, (hints[l].n + 1) * sizeof **hit);
        for (size_t k = 0; k < hints[l].n; k++) {
            uint32_t id = hints[l].ids[k];
            bool dup = false;
            for (size_t j = 0; j < nhit[l]; j++)
                dup |= hit[l][j] == id;
            if (!dup && query_has(c, id))
                hit[l][nhit[l]++] = id;
        }
        score[l] += k_hint_weight * (double)nhit[l];
    }

    /* A weak clue: the label's own name in the input. */
    for (size_t l = 0; l < nl; l++) {
        rs_tokens lt;
        rs_tokenize(&c->vocab, labels[l], strlen(labels[l]), &lt);
        for (size_t k = 0; k < lt.n; k++)
            if (query_has(c, lt.ids[k]))
                score[l] += k_name_weight;
    }

    const char *q = join_inputs(c->a, c->t->query, c->t->n_in);
    int pick = choose(score, nl, c->g->temperature, rng, rs_hash(q, strlen(q), f));
    if (pick < 0)
        return "";
    if (!c->label) {
        c->label = labels[pick];
        c->hint_used = nhit[pick] > 0;
        note_words(c, hit[pick], nhit[pick]);
        for (size_t i = 0; i < nr; i++) {
            int d = order[i];
            const char *v = c->t->demos[d].out[f];
            int l = fd->kind == RS_BOOL ? bool_label(v) : rs_match_label(labels, nl, v);
            if (l == pick && c->sim[d] > 0) {
                c->nearest_demo = d;
                break;
            }
        }
    }
    return labels[pick];
}

/* --- free text --------------------------------------------------------- */

static bool contains_ci(const char *hay, const char *needle)
{
    size_t n = strlen(needle);
    if (n == 0)
        return false;
    for (; *hay; hay++)
        if (strncasecmp(hay, needle, n) == 0)
            return true;
    return false;
}

/* The text a demo's value of f copies: the value itself, or for a list of
 * strings its first item (NULL when it has none). */
static const char *demo_text(const ctx *c, size_t f, const char *v)
{
    if (!v || c->t->out[f].kind != RS_LIST)
        return v;
    cJSON *j = cJSON_Parse(v);
    cJSON *first = cJSON_IsArray(j) ? cJSON_GetArrayItem(j, 0) : NULL;
    const char *out = cJSON_IsString(first) ? rs_strdup(c->a, first->valuestring) : NULL;
    cJSON_Delete(j);
    return out;
}

/* Whether most demos copy their value of f (for a list, its first item) out
 * of one of their inputs. */
static bool extractive(const ctx *c, size_t f)
{
    size_t with = 0, copied = 0;
    for (size_t i = 0; i < c->t->n_demos; i++) {
        const rs_example *d = &c->t->demos[i];
        const char *v = demo_text(c, f, d->out[f]);
        if (!v)
            continue;
        with++;
        for (size_t k = 0; k < c->t->n_in; k++)
            if (d->in[k] && contains_ci(d->in[k], v)) {
                copied++;
                break;
            }
    }
    return with > 0 && copied * 2 > with;
}

/* Average word count of the demos' values of f. */
static size_t demo_value_words(const ctx *c, size_t f)
{
    size_t words = 0, n = 0;
    for (size_t i = 0; i < c->t->n_demos; i++) {
        const char *v = demo_text(c, f, c->t->demos[i].out[f]);
        if (!v)
            continue;
        n++;
        words += (size_t)rs_count_words(v);
    }
    return n ? (words + n / 2) / n : 3;
}

/* For an extractive field: in the longest input, the sentence that shares
 * most words with the shortest input (the question), and in it the first
 * run of words that the question does not contain (about as long as the
 * demos' answers). */
static const char *extract_span(ctx *c, size_t f)
{
    const rs_task *t = c->t;
    int longest = -1;
    for (size_t k = 0; k < t->n_in; k++)
        if (t->query[k] && (longest < 0 || strlen(t->query[k]) > strlen(t->query[longest])))
            longest = (int)k;
    if (longest < 0)
        return "";
    /* The question is the shortest input: with several passages as inputs
     * (retrieved context and more context), the other passages would
     * otherwise count as the question. */
    int shortest = -1;
    for (size_t k = 0; k < t->n_in; k++)
        if ((int)k != longest && t->query[k] && *t->query[k] &&
            (shortest < 0 || strlen(t->query[k]) < strlen(t->query[shortest])))
            shortest = (int)k;
    rs_vocab *v = &c->vocab;
    const char *ot = shortest < 0 ? "" : t->query[shortest];
    rs_tokens otoks;
    rs_tokenize(v, ot, strlen(ot), &otoks);
    rs_vec ov;
    rs_vec_counts(c->a, &otoks, &ov);

    const char *text = t->query[longest];
    const char *best_s = text, *best_e = text + strlen(text);
    double best = -1;
    for (const char *s = text; *s;) {
        const char *e = s;
        while (*e && !(strchr(".!?\n", *e) && (e[1] == ' ' || e[1] == '\n' || e[1] == '\0')))
            e++;
        if (*e)
            e++;
        rs_tokens st;
        rs_tokenize(v, s, (size_t)(e - s), &st);
        rs_vec sv;
        rs_vec_counts(c->a, &st, &sv);
        double overlap = 0;
        for (size_t i = 0, j = 0; i < sv.n && j < ov.n;) {
            if (sv.ids[i] == ov.ids[j])
                overlap += 1, i++, j++;
            else if (sv.ids[i] < ov.ids[j])
                i++;
            else
                j++;
        }
        if (overlap > best) {
            best = overlap;
            best_s = s;
            best_e = e;
        }
        s = e;
        while (*s == ' ' || *s == '\n')
            s++;
    }
    size_t want = demo_value_words(c, f);
    if (want == 0)
        want = 1;
    /* The sentence's words: their span and whether the question has them
     * (q) or they carry nothing (stop words). */
    size_t cap = 16, nw = 0;
    typedef struct word {
        const char *s, *e;
        bool q, stop;
    } word;
    word *w = rs_alloc(c->a, cap * sizeof *w);
    char buf[64];
    for (const char *p = best_s; p < best_e;) {
        while (p < best_e && isspace((unsigned char)*p))
            p++;
        const char *ws = p;
        while (p < best_e && !isspace((unsigned char)*p))
            p++;
        const char *we = p;
        while (we > ws && strchr(".,;:!?\"')", we[-1]))
            we--;
        while (ws < we && strchr("\"'(", *ws))
            ws++;
        if (we == ws)
            continue;
        size_t sl = rs_stem(ws, (size_t)(we - ws), buf, sizeof buf);
        uint32_t id = sl ? rs_vocab_find(v, buf, sl) : UINT32_MAX;
        bool in_q = false;
        for (size_t i = 0; id != UINT32_MAX && i < ov.n; i++)
            in_q |= ov.ids[i] == id;
        if (nw == cap) {
            w = rs_grow(c->a, w, nw * sizeof *w, cap * 2 * sizeof *w);
            cap *= 2;
        }
        w[nw++] = (word){ws, we, in_q, sl == 0};
    }
    /* The answer usually follows the words the question repeats: the first
     * run of new content words after the last question word, else the
     * sentence's first one. */
    size_t last_q = nw, start = nw;
    for (size_t i = 0; i < nw; i++)
        if (w[i].q)
            last_q = i;
    for (size_t i = last_q; i < nw && start == nw; i++)
        if (!w[i].q && !w[i].stop)
            start = i;
    for (size_t i = 0; i < nw && start == nw; i++)
        if (!w[i].q && !w[i].stop)
            start = i;
    if (start == nw)
        return rs_strndup(c->a, best_s, (size_t)(best_e - best_s));
    size_t end = start;
    while (end < nw && end - start < want && !w[end].q)
        end++;
    while (end > start + 1 && w[end - 1].stop) /* no trailing "of the" */
        end--;
    return rs_strndup(c->a, w[start].s, (size_t)(w[end - 1].e - w[start].s));
}

/* The first sentence of the first input, at most FALLBACK_WORDS words. */
static const char *first_sentence(ctx *c)
{
    for (size_t k = 0; k < c->t->n_in; k++) {
        const char *s = c->t->query[k];
        if (!s || !*s)
            continue;
        rs_buf b;
        rs_buf_init(&b, c->a);
        size_t words = 0;
        for (const char *p = s; *p && words < FALLBACK_WORDS;) {
            const char *ws = p;
            while (*p && !isspace((unsigned char)*p))
                p++;
            if (words)
                rs_buf_add(&b, " ", 1);
            rs_buf_add(&b, ws, (size_t)(p - ws));
            words++;
            if (strchr(".!?", p[-1]))
                break;
            while (*p && isspace((unsigned char)*p))
                p++;
        }
        return rs_buf_str(&b);
    }
    return "";
}

static const char *nearest_value(ctx *c, size_t f, uint64_t *rng, int *which)
{
    int *order = rs_alloc(c->a, (c->t->n_demos + 1) * sizeof *order);
    size_t nr = ranked_demos(c, f, order);
    *which = -1;
    if (nr == 0)
        return NULL;
    double *score = rs_alloc(c->a, nr * sizeof *score);
    for (size_t i = 0; i < nr; i++)
        score[i] = c->sim[order[i]];
    /* With no similar demo at all, the first one is as good as any. */
    int pick = choose(score, nr, c->g->temperature, rng, 0);
    *which = order[pick];
    return c->t->demos[order[pick]].out[f];
}

static const char *free_text(ctx *c, size_t f, uint64_t *rng)
{
    if (c->t->n_demos && extractive(c, f))
        return extract_span(c, f);
    int d;
    const char *v = nearest_value(c, f, rng, &d);
    if (v) {
        if (c->nearest_demo < 0)
            c->nearest_demo = d;
        return v;
    }
    return first_sentence(c);
}

/* --- numbers, lists, objects -------------------------------------------- */

/* The next number in text at or after *p (digits with thousands commas, a
 * leading '-', and a fraction unless integer), its span in *start and *len, or
 * false when there is none; *p moves past it. */
static bool next_number(const char *text, const char **p, bool integer, const char **start, size_t *len)
{
    for (const char *q = *p; q && *q; q++) {
        if (!isdigit((unsigned char)*q) || (q > text && isalnum((unsigned char)q[-1])))
            continue;
        const char *st = q > text && q[-1] == '-' ? q - 1 : q;
        while (isdigit((unsigned char)*q) || *q == ',')
            q++;
        if (!integer && *q == '.' && isdigit((unsigned char)q[1])) {
            q++;
            while (isdigit((unsigned char)*q))
                q++;
        }
        *start = st;
        *len = (size_t)(q - st);
        *p = q;
        return true;
    }
    return false;
}

/* A number's text without thousands separators (a trailing comma is
 * punctuation, not part of it). */
static const char *strip_commas(rs_arena *a, const char *s, size_t len)
{
    char *out = rs_alloc(a, len + 1);
    size_t n = 0;
    for (size_t i = 0; i < len; i++)
        if (s[i] != ',')
            out[n++] = s[i];
    out[n] = '\0';
    return out;
}

/* The last number written in the inputs, or NULL. */
static const char *last_number(ctx *c, bool integer)
{
    const char *found = NULL;
    size_t flen = 0;
    for (size_t k = 0; k < c->t->n_in; k++) {
        const char *s = c->t->query[k], *p = s, *st;
        size_t len;
        while (s && next_number(s, &p, integer, &st, &len))
            found = st, flen = len;
    }
    return found ? strip_commas(c->a, found, flen) : NULL;
}

static bool parses_as_number(const char *s, bool integer, double *out)
{
    if (!s || !*s)
        return false;
    char *end;
    double v = integer ? (double)strtoll(s, &end, 10) : strtod(s, &end);
    while (isspace((unsigned char)*end))
        end++;
    if (*end != '\0' || end == s || !isfinite(v))
        return false;
    if (out)
        *out = v;
    return true;
}

/* Whether text writes the number v. */
static bool text_has_number(rs_arena *a, const char *text, double v)
{
    const char *p = text, *st;
    size_t len;
    double x;
    while (text && next_number(text, &p, false, &st, &len))
        if (parses_as_number(strip_commas(a, st, len), false, &x) && x == v)
            return true;
    return false;
}

/* Whether the demos give numbers for f, and most of them copy theirs from
 * an input (a count or a year asked about): then the answer is a number of
 * the input too. Otherwise the numbers are judgements (a confidence, a
 * priority) that the input does not contain. */
static bool numeric_demos(ctx *c, size_t f, bool integer, bool *copied_from_input)
{
    size_t with = 0, copied = 0;
    for (size_t i = 0; i < c->t->n_demos; i++) {
        const rs_example *d = &c->t->demos[i];
        double v;
        if (!parses_as_number(d->out[f], integer, &v))
            continue;
        with++;
        for (size_t k = 0; k < c->t->n_in; k++)
            if (text_has_number(c->a, d->in[k], v)) {
                copied++;
                break;
            }
    }
    *copied_from_input = copied * 2 > with;
    return with > 0;
}

/* The similarity-weighted mean of the numbers of the KNN_K nearest demos
 * (a plain mean when none is similar): always within the demos' range. */
static double demo_mean(ctx *c, size_t f, bool integer)
{
    int *order = rs_alloc(c->a, (c->t->n_demos + 1) * sizeof *order);
    size_t nr = ranked_demos(c, f, order);
    double sum = 0, wsum = 0, plain = 0;
    size_t used = 0;
    for (size_t i = 0; i < nr && used < KNN_K; i++) {
        double v;
        if (!parses_as_number(c->t->demos[order[i]].out[f], integer, &v))
            continue;
        double w = c->sim[order[i]] > 0 ? c->sim[order[i]] : 0;
        sum += w * v;
        wsum += w;
        plain += v;
        used++;
    }
    if (used && c->nearest_demo < 0)
        c->nearest_demo = order[0];
    return wsum > 0 ? sum / wsum : used ? plain / (double)used : 0;
}

/* A range the field's description states, e.g. "from 0 to 1", "1 to 5",
 * "between 1 and 10", "0-100". */
static bool described_range(const char *desc, double *lo, double *hi)
{
    for (const char *p = desc; p && *p; p++) {
        if (!isdigit((unsigned char)*p) || (p > desc && (isalnum((unsigned char)p[-1]) || p[-1] == '.')))
            continue;
        const char *st = p > desc && p[-1] == '-' ? p - 1 : p;
        char *end;
        double a = strtod(st, &end);
        const char *q = end;
        while (*q == ' ')
            q++;
        if (strncasecmp(q, "to ", 3) == 0 || strncasecmp(q, "and ", 4) == 0)
            q += q[0] == 't' || q[0] == 'T' ? 3 : 4;
        else if (*q == '-' && q == end)
            q++;
        else
            continue;
        while (*q == ' ')
            q++;
        if (!isdigit((unsigned char)*q) && !(*q == '-' && isdigit((unsigned char)q[1])))
            continue;
        double b = strtod(q, &end);
        if (isfinite(a) && isfinite(b) && a < b) {
            *lo = a;
            *hi = b;
            return true;
        }
    }
    return false;
}

/* int / float: a judgement the demos show (their weighted mean), or a
 * number of the input when the demos copy theirs from the input or there
 * are no demos; within the range the description states, its middle when
 * nothing else fits. */
static const char *number(ctx *c, size_t f)
{
    const rs_field *fd = &c->t->out[f];
    bool integer = fd->kind == RS_INT;
    double lo = 0, hi = 0, x = 0;
    bool ranged = described_range(fd->desc, &lo, &hi);
    bool copied = false;
    if (numeric_demos(c, f, integer, &copied) && !copied) {
        x = demo_mean(c, f, integer);
    } else {
        const char *n = last_number(c, integer);
        if (n && parses_as_number(n, integer, &x) && (!ranged || (x >= lo && x <= hi)))
            return n;
        x = ranged ? (lo + hi) / 2 : 0;
    }
    if (ranged)
        x = x < lo ? lo : x > hi ? hi : x;
    char buf[64];
    if (integer)
        snprintf(buf, sizeof buf, "%lld", llround(x));
    else
        snprintf(buf, sizeof buf, "%.6g", x);
    return rs_strdup(c->a, buf);
}

static bool is_json_kind(const char *s, bool array)
{
    cJSON *j = cJSON_Parse(s ? s : "");
    bool ok = array ? cJSON_IsArray(j) : cJSON_IsObject(j);
    cJSON_Delete(j);
    return ok;
}

/* arr printed into the arena, and freed. */
static const char *print_array(ctx *c, cJSON *arr)
{
    char *s = cJSON_PrintUnformatted(arr);
    cJSON_Delete(arr);
    const char *out = rs_strdup(c->a, s ? s : "[]");
    cJSON_free(s);
    return out;
}

static const char *list_value(ctx *c, size_t f, uint64_t *rng)
{
    rs_kind elem = c->t->out[f].elem;
    /* The demos' items are spans copied from their inputs: one span. */
    if (elem == RS_STRING && c->t->n_demos && extractive(c, f)) {
        cJSON *arr = cJSON_CreateArray();
        cJSON_AddItemToArray(arr, cJSON_CreateString(extract_span(c, f)));
        return print_array(c, arr);
    }
    int d;
    const char *v = nearest_value(c, f, rng, &d);
    if (v && is_json_kind(v, true))
        return v;
    cJSON *arr = cJSON_CreateArray();
    if (elem == RS_INT || elem == RS_FLOAT) {
        const char *n = last_number(c, elem == RS_INT);
        cJSON_AddItemToArray(arr, cJSON_CreateNumber(n ? strtod(n, NULL) : 0));
    } else if (elem == RS_BOOL) {
        cJSON_AddItemToArray(arr, cJSON_CreateBool(1));
    } else {
        /* The input's most distinctive words. */
        const rs_vec *q = &c->query.vec;
        bool *used = rs_alloc(c->a, q->n + 1);
        for (size_t k = 0; k < 3 && k < q->n; k++) {
            int b = -1;
            for (size_t i = 0; i < q->n; i++)
                if (!used[i] && (b < 0 || q->w[i] > q->w[b]))
                    b = (int)i;
            used[b] = true;
            const char *w = c->vocab.surface[q->ids[b]];
            cJSON_AddItemToArray(arr, cJSON_CreateString(w ? w : c->vocab.words[q->ids[b]]));
        }
    }
    return print_array(c, arr);
}

/* A value of JSON schema s made from the inputs, as a model answering
 * zero-shot fills a record: its first enum value, the input's last number,
 * its first sentence for text, false, an empty list, a nested record the
 * same way; null for an optional (anyOf with null) member. */
static cJSON *schema_value(ctx *c, const cJSON *s, int depth)
{
    const cJSON *any = cJSON_GetObjectItemCaseSensitive(s, "anyOf"), *alt;
    if (any)
        return cJSON_CreateNull();
    const cJSON *en = cJSON_GetObjectItemCaseSensitive(s, "enum");
    if (cJSON_IsArray(en) && en->child)
        return cJSON_Duplicate(en->child, 1);
    const cJSON *type = cJSON_GetObjectItemCaseSensitive(s, "type");
    const char *t = cJSON_IsString(type) ? type->valuestring : "string";
    if (strcmp(t, "integer") == 0 || strcmp(t, "number") == 0) {
        const char *n = last_number(c, strcmp(t, "integer") == 0);
        return cJSON_CreateNumber(n ? strtod(n, NULL) : 0);
    }
    if (strcmp(t, "boolean") == 0)
        return cJSON_CreateFalse();
    if (strcmp(t, "array") == 0)
        return cJSON_CreateArray();
    if (strcmp(t, "object") == 0) {
        cJSON *o = cJSON_CreateObject();
        const cJSON *props = cJSON_GetObjectItemCaseSensitive(s, "properties");
        cJSON_ArrayForEach(alt, props) {
            if (depth < 16)
                cJSON_AddItemToObject(o, alt->string, schema_value(c, alt, depth + 1));
        }
        return o;
    }
    return cJSON_CreateString(first_sentence(c));
}

static const char *object_value(ctx *c, size_t f, uint64_t *rng)
{
    int d;
    const char *v = nearest_value(c, f, rng, &d);
    if (v && is_json_kind(v, false))
        return v;
    const char *text = c->t->out[f].object_schema;
    cJSON *schema = text ? cJSON_Parse(text) : NULL;
    if (!schema)
        return "{}";
    cJSON *o = schema_value(c, schema, 0);
    cJSON_Delete(schema);
    char *s = o ? cJSON_PrintUnformatted(o) : NULL;
    cJSON_Delete(o);
    const char *out = rs_strdup(c->a, s ? s : "{}");
    cJSON_free(s);
    return out;
}

/* --- reasoning ---------------------------------------------------------- */

static bool is_reasoning(const rs_field *f)
{
    if (f->kind != RS_STRING)
        return false;
    static const char *const k[] = {"reason", "rationale", "thought", "explanation", "justification"};
    for (size_t i = 0; i < sizeof k / sizeof k[0]; i++)
        if (strstr(f->name, k[i]))
            return true;
    return false;
}

static const char *reasoning(ctx *c)
{
    /* Without hint matches, name the words the input shares with the
     * nearest demo, else the input's most distinctive words. */
    if (c->n_words == 0 && c->nearest_demo >= 0) {
        const rs_vec *dv = &c->demos[c->nearest_demo].vec;
        for (size_t i = 0; i < dv->n && c->n_words < REASON_WORDS; i++)
            if (query_has(c, dv->ids[i]))
                note_words(c, &dv->ids[i], 1);
    }
    if (c->n_words == 0)
        for (size_t i = 0; i < c->query.vec.n && c->n_words < REASON_WORDS; i++)
            note_words(c, &c->query.vec.ids[i], 1);
    rs_buf b;
    rs_buf_init(&b, c->a);
    if (c->n_words) {
        rs_buf_puts(&b, "The input mentions ");
        for (size_t i = 0; i < c->n_words; i++) {
            const char *w = c->vocab.surface[c->words[i]];
            rs_buf_printf(&b, "%s\"%s\"", i == 0 ? "" : i + 1 == c->n_words ? " and " : ", ",
                          w ? w : c->vocab.words[c->words[i]]);
        }
    } else {
        rs_buf_puts(&b, "The input has no distinctive words");
    }
    if (c->label && c->hint_used)
        rs_buf_printf(&b, ", which the instructions list as hints for %s", c->label);
    if (c->nearest_demo >= 0) {
        rs_buf_printf(&b, "; the closest example (similarity %.2f)", c->sim[c->nearest_demo]);
        if (c->label)
            rs_buf_printf(&b, " is labelled %s", c->label);
        else
            rs_buf_puts(&b, " guides the answer");
    } else if (c->label && !c->hint_used) {
        rs_buf_printf(&b, "; with no similar example, %s is a weak guess", c->label);
    }
    rs_buf_puts(&b, ".");
    return rs_buf_str(&b);
}

/* --- entry point ---------------------------------------------------------- */

void rs_learn(rs_arena *a, const rs_task *t, const rs_gen *g, const char **values)
{
    ctx c;
    memset(&c, 0, sizeof c);
    c.a = a;
    c.t = t;
    c.g = g;
    build_docs(&c);
    /* Classifications first: the reasoning sentence names their evidence,
     * although it comes first in the reply. */
    for (size_t f = 0; f < t->n_out; f++) {
        uint64_t rng = rs_mix(g->seed + 0x100 * (f + 1));
        const rs_field *fd = &t->out[f];
        if ((fd->kind == RS_ENUM && fd->n_enum) || fd->kind == RS_BOOL)
            values[f] = classify(&c, f, &rng);
    }
    for (size_t f = 0; f < t->n_out; f++) {
        uint64_t rng = rs_mix(g->seed + 0x100 * (f + 1) + 1);
        const rs_field *fd = &t->out[f];
        if (values[f])
            continue;
        if (strcmp(fd->name, "proposed_instruction") == 0)
            values[f] = rs_propose_instruction(a, t, g);
        else if (strcmp(fd->name, "new_instruction") == 0)
            values[f] = rs_reflect_instruction(a, t);
        else if (strcmp(fd->name, "combined_instruction") == 0)
            values[f] = rs_combine_instructions(a, t);
        else if (is_reasoning(fd))
            continue;
        else if (fd->kind == RS_INT || fd->kind == RS_FLOAT)
            values[f] = number(&c, f);
        else if (rs_extract_applies(fd))
            values[f] = rs_extract(a, t, f);
        else if (fd->kind == RS_LIST)
            values[f] = list_value(&c, f, &rng);
        else if (fd->kind == RS_OBJECT)
            values[f] = object_value(&c, f, &rng);
        else
            values[f] = free_text(&c, f, &rng);
    }
    for (size_t f = 0; f < t->n_out; f++)
        if (!values[f])
            values[f] = reasoning(&c);
}
