/* learner.c — the deterministic in-context learner (see learner.h). */
#include "learner.h"

#include <ctype.h>
#include <math.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <strings.h>

#include <cjson/cJSON.h>

#include "propose.h"

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

/* Whether most demos copy their value of f out of one of their inputs. */
static bool extractive(const ctx *c, size_t f)
{
    size_t with = 0, copied = 0;
    for (size_t i = 0; i < c->t->n_demos; i++) {
        const rs_example *d = &c->t->demos[i];
        if (!d->out[f])
            continue;
        with++;
        for (size_t k = 0; k < c->t->n_in; k++)
            if (d->in[k] && contains_ci(d->in[k], d->out[f])) {
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
        const char *v = c->t->demos[i].out[f];
        if (!v)
            continue;
        n++;
        for (const char *p = v; *p;) {
            while (*p && isspace((unsigned char)*p))
                p++;
            if (*p)
                words++;
            while (*p && !isspace((unsigned char)*p))
                p++;
        }
    }
    return n ? (words + n / 2) / n : 3;
}

/* For an extractive field: in the longest input, the sentence that shares
 * most words with the other inputs, and in it the first run of words that
 * the other inputs do not contain (about as long as the demos' answers). */
static const char *extract_span(ctx *c, size_t f)
{
    const rs_task *t = c->t;
    int longest = -1;
    for (size_t k = 0; k < t->n_in; k++)
        if (t->query[k] && (longest < 0 || strlen(t->query[k]) > strlen(t->query[longest])))
            longest = (int)k;
    if (longest < 0)
        return "";
    rs_vocab *v = &c->vocab;
    /* Words of the other inputs. */
    const char **others = rs_alloc(c->a, (t->n_in + 1) * sizeof *others);
    for (size_t k = 0; k < t->n_in; k++)
        others[k] = (int)k == longest ? NULL : t->query[k];
    const char *ot = join_inputs(c->a, others, t->n_in);
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

/* The last number written in the inputs, or NULL. */
static const char *last_number(ctx *c, bool integer)
{
    const char *found = NULL;
    size_t flen = 0;
    for (size_t k = 0; k < c->t->n_in; k++) {
        const char *s = c->t->query[k];
        for (const char *p = s; p && *p;) {
            if (isdigit((unsigned char)*p) && (p == s || !isalnum((unsigned char)p[-1]))) {
                const char *st = p > s && p[-1] == '-' ? p - 1 : p;
                while (isdigit((unsigned char)*p) || *p == ',')
                    p++;
                if (!integer && *p == '.' && isdigit((unsigned char)p[1])) {
                    p++;
                    while (isdigit((unsigned char)*p))
                        p++;
                }
                found = st;
                flen = (size_t)(p - st);
            } else {
                p++;
            }
        }
    }
    if (!found)
        return NULL;
    /* Thousands separators are not part of a number's format. */
    char *out = rs_alloc(c->a, flen + 1);
    size_t n = 0;
    for (size_t i = 0; i < flen; i++)
        if (found[i] != ',')
            out[n++] = found[i];
    while (n && out[n - 1] == ',')
        n--;
    out[n] = '\0';
    return out;
}

static bool parses_as_number(const char *s, bool integer)
{
    if (!s || !*s)
        return false;
    char *end;
    if (integer)
        (void)strtoll(s, &end, 10);
    else
        (void)strtod(s, &end);
    while (isspace((unsigned char)*end))
        end++;
    return *end == '\0';
}

static const char *number(ctx *c, size_t f, uint64_t *rng)
{
    bool integer = c->t->out[f].kind == RS_INT;
    const char *n = last_number(c, integer);
    if (n && parses_as_number(n, integer))
        return n;
    int d;
    const char *v = nearest_value(c, f, rng, &d);
    if (v && parses_as_number(v, integer))
        return v;
    return "0";
}

static bool is_json_kind(const char *s, bool array)
{
    cJSON *j = cJSON_Parse(s ? s : "");
    bool ok = array ? cJSON_IsArray(j) : cJSON_IsObject(j);
    cJSON_Delete(j);
    return ok;
}

static const char *list_value(ctx *c, size_t f, uint64_t *rng)
{
    int d;
    const char *v = nearest_value(c, f, rng, &d);
    if (v && is_json_kind(v, true))
        return v;
    cJSON *arr = cJSON_CreateArray();
    rs_kind elem = c->t->out[f].elem;
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
    char *s = cJSON_PrintUnformatted(arr);
    cJSON_Delete(arr);
    const char *out = rs_strdup(c->a, s ? s : "[]");
    cJSON_free(s);
    return out;
}

static const char *object_value(ctx *c, size_t f, uint64_t *rng)
{
    int d;
    const char *v = nearest_value(c, f, rng, &d);
    return v && is_json_kind(v, false) ? v : "{}";
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
        else if (is_reasoning(fd))
            continue;
        else if (fd->kind == RS_INT || fd->kind == RS_FLOAT)
            values[f] = number(&c, f, &rng);
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
