/* reflect.c — answer a reflection prompt (see reflect.h): read the
 * examples with their outputs and feedback, find the label the feedback
 * says was expected, and add hint lines for the labels the assistant got
 * wrong to the current instruction. */
#include "reflect.h"

#include <ctype.h>
#include <stdlib.h>
#include <string.h>
#include <strings.h>

enum { MAX_EXAMPLES = 64, KEYWORDS = 5 };

/* Words a careful writer never names as the cue of a label, whatever the
 * task: greetings, courtesy, time, and the generic verbs and nouns of any
 * request (an LM knows them; the fixture lists them). Sorted for bsearch. */
static const char *const k_generic[] = {
    "able", "above", "advise", "afternoon", "already", "also", "always", "another", "anyone", "apologies",
    "appreciate", "appreciated", "asap", "assist", "assistance", "attached", "attachment", "bad", "below", "best",
    "came", "can", "cannot", "case", "cheers", "colleague", "colleagues", "come", "could", "day", "days", "dear",
    "detail", "details", "different", "do", "doing", "done", "each", "even", "evening", "ever", "every", "everyone",
    "find", "fine", "following", "found", "friday", "gave", "get", "getting", "give", "go", "going", "good", "got",
    "grateful", "great", "greetings", "hello", "help", "hey", "hi", "hope", "hoping", "info", "information", "issue",
    "issues", "just", "keep", "kept", "kind", "kindly", "know", "let", "like", "look", "looking", "made", "make",
    "many", "matter", "may", "mentioned", "might", "monday", "month", "months", "morning", "much", "must", "needed",
    "needs", "never", "new", "ok", "okay", "old", "other", "people", "person", "please", "problem", "problems",
    "provide", "provided", "put", "question", "questions", "quite", "really", "receive", "received", "regarding",
    "regards", "request", "requests", "respectfully", "same", "saturday", "see", "seen", "send", "sent", "set",
    "several", "should", "sincerely", "somebody", "someone", "soon", "sorry", "still", "sunday", "support", "sure",
    "take", "team", "thank", "thanks", "thankyou", "thing", "things", "thursday", "time", "times", "today",
    "tomorrow", "took", "tried", "try", "trying", "tuesday", "unable", "urgent", "urgently", "use", "used", "using",
    "way", "wednesday", "week", "weeks", "well", "wish", "work", "worked", "working", "would", "year", "years", "yes",
    "yesterday", "yet",
};

static int cmp_cstr(const void *x, const void *y)
{
    return strcmp(*(const char *const *)x, *(const char *const *)y);
}

static int generic(const char *w)
{
    return bsearch(&w, k_generic, sizeof k_generic / sizeof k_generic[0], sizeof k_generic[0], cmp_cstr) != NULL;
}

typedef struct rexample {
    rs_buf input;          /* every input field's text */
    const char *field;     /* the last output field (not reasoning) */
    const char *output;    /* its value */
    rs_buf feedback;
} rexample;

typedef enum { SEC_NONE, SEC_INPUTS, SEC_OUTPUTS, SEC_FEEDBACK } section;

static const char *trimmed(rs_arena *a, const char *s, const char *e)
{
    while (s < e && isspace((unsigned char)*s))
        s++;
    while (e > s && isspace((unsigned char)e[-1]))
        e--;
    return rs_strndup(a, s, (size_t)(e - s));
}

/* The markdown of `# Example N` / `## Inputs|Outputs|Feedback` /
 * `### field` sections into examples. */
static size_t parse_examples(rs_arena *a, const char *text, rexample *ex)
{
    size_t n = 0;
    section sec = SEC_NONE;
    const char *field = NULL;
    rs_buf value;
    rs_buf_init(&value, a);
    for (const char *p = text; p && *p;) {
        const char *e = strchr(p, '\n');
        if (!e)
            e = p + strlen(p);
        const char *line = trimmed(a, p, e);
        int head = strncmp(line, "### ", 4) == 0 || strncmp(line, "## ", 3) == 0 || strncmp(line, "# ", 2) == 0;
        if (head && n && sec == SEC_OUTPUTS && field && strcasecmp(field, "reasoning") != 0) {
            ex[n - 1].field = field;
            ex[n - 1].output = trimmed(a, rs_buf_str(&value), rs_buf_str(&value) + strlen(rs_buf_str(&value)));
        }
        if (strncmp(line, "# Example", 9) == 0 && n < MAX_EXAMPLES) {
            memset(&ex[n], 0, sizeof ex[n]);
            rs_buf_init(&ex[n].input, a);
            rs_buf_init(&ex[n].feedback, a);
            n++;
            sec = SEC_NONE;
            field = NULL;
        } else if (strncmp(line, "## ", 3) == 0) {
            sec = strcasecmp(line + 3, "Inputs") == 0    ? SEC_INPUTS
                  : strcasecmp(line + 3, "Outputs") == 0 ? SEC_OUTPUTS
                  : strcasecmp(line + 3, "Feedback") == 0 ? SEC_FEEDBACK
                                                          : SEC_NONE;
            field = NULL;
        } else if (strncmp(line, "### ", 4) == 0) {
            field = line + 4;
        } else if (n && sec == SEC_INPUTS) {
            rs_buf_printf(&ex[n - 1].input, "%s\n", line);
        } else if (n && sec == SEC_FEEDBACK) {
            rs_buf_printf(&ex[n - 1].feedback, "%s ", line);
        }
        if (head)
            rs_buf_init(&value, a);
        else if (sec == SEC_OUTPUTS)
            rs_buf_printf(&value, "%s\n", line);
        p = *e ? e + 1 : e;
    }
    if (n && sec == SEC_OUTPUTS && field && strcasecmp(field, "reasoning") != 0) {
        ex[n - 1].field = field;
        ex[n - 1].output = trimmed(a, rs_buf_str(&value), rs_buf_str(&value) + strlen(rs_buf_str(&value)));
    }
    return n;
}

/* 1: the text at p starts a clause break: `,` `;` a line break, a `.`
 * ending a sentence, or a connective (" because", " but", " not", " since"). */
static int clause_end(const char *p)
{
    static const char *const k_joins[] = { " because ", " but ", " not ", " since ", " instead" };
    if (*p == ',' || *p == ';' || *p == '\n' || *p == '(' || (*p == '.' && (!p[1] || isspace((unsigned char)p[1]))))
        return 1;
    for (size_t i = 0; i < sizeof k_joins / sizeof k_joins[0]; i++)
        if (strncasecmp(p, k_joins[i], strlen(k_joins[i])) == 0)
            return 1;
    return 0;
}

/* The value after `after` in text, up to the end of its clause (labels may
 * have several words: `queue: HR Support.`), quotes and backticks
 * stripped; NULL when there is none. */
static const char *value_after(rs_arena *a, const char *text, const char *after)
{
    size_t n = strlen(after);
    for (const char *p = text; *p; p++) {
        if (strncasecmp(p, after, n) != 0 || (p > text && isalnum((unsigned char)p[-1])))
            continue;
        const char *s = p + n;
        while (*s == ' ' || *s == '`' || *s == '"' || *s == '\'' || *s == ':')
            s++;
        const char *e = s;
        while (*e && !clause_end(e) && e - s < 64)
            e++;
        while (e > s && (isspace((unsigned char)e[-1]) || e[-1] == '`' || e[-1] == '"' || e[-1] == '\''))
            e--;
        if (e > s)
            return rs_strndup(a, s, (size_t)(e - s));
    }
    return NULL;
}

/* What the feedback says the output should have been: `FIELD: x`,
 * `FIELD is x`, `expected x`, `should be x`, `correct answer is x`. */
static const char *expected_label(rs_arena *a, const rexample *x)
{
    const char *fb = rs_buf_str((rs_buf *)&x->feedback);
    const char *forms[6];
    size_t nf = 0;
    if (x->field) {
        static const char *const tails[] = { ":", " is", " should be" };
        for (size_t k = 0; k < 3; k++) {
            rs_buf f;
            rs_buf_init(&f, a);
            rs_buf_printf(&f, "%s%s", x->field, tails[k]);
            forms[nf++] = rs_buf_str(&f);
        }
    }
    forms[nf++] = "should be";
    forms[nf++] = "correct answer is";
    forms[nf++] = "expected";
    for (size_t i = 0; i < nf; i++) {
        const char *w = value_after(a, fb, forms[i]);
        if (w && strncasecmp(w, "output", 6) != 0)
            return w;
    }
    return NULL;
}

static size_t count_id(const rs_tokens *t, uint32_t id)
{
    size_t c = 0;
    for (size_t i = 0; i < t->n; i++)
        c += t->ids[i] == id;
    return c;
}

static int has_id(const rs_tokens *t, uint32_t id)
{
    return count_id(t, id) > 0;
}

/* The words of a label's name (`track_refund`: track, refund). */
static void label_words(rs_vocab *v, const char *label, rs_tokens *out)
{
    out->ids = NULL, out->n = 0;
    if (!label)
        return;
    char *s = rs_strndup(v->arena, label, strlen(label));
    for (char *p = s; *p; p++)
        if (*p == '_' || *p == '-')
            *p = ' ';
    rs_tokenize(v, s, strlen(s), out);
}

/* The current instruction without the hint words that misled: in a line
 * `label: word, word`, the words of an input the assistant wrongly gave
 * that label to (what a careful reader of the feedback takes back). */
static const char *pruned(rs_arena *a, rs_vocab *v, const char *current, const rexample *ex, const char **gold,
                          const rs_tokens *toks, size_t n)
{
    rs_buf b;
    rs_buf_init(&b, a);
    for (const char *p = current; *p;) {
        const char *e = strchr(p, '\n');
        if (!e)
            e = p + strlen(p);
        const char *colon = memchr(p, ':', (size_t)(e - p));
        const char *label = colon ? rs_strndup(a, p, (size_t)(colon - p)) : NULL;
        int misled = 0;
        for (size_t i = 0; label && i < n && !misled; i++)
            misled = gold[i] && ex[i].output && strcasecmp(ex[i].output, label) == 0 &&
                     strcasecmp(gold[i], label) != 0;
        if (!misled) {
            rs_buf_add(&b, p, (size_t)(e - p) + (*e == '\n'));
        } else {
            rs_buf kept;
            rs_buf_init(&kept, a);
            size_t nk = 0;
            for (const char *w = colon + 1; w < e;) {
                const char *we = w;
                while (we < e && *we != ',')
                    we++;
                rs_tokens t;
                rs_tokenize(v, w, (size_t)(we - w), &t);
                int bad = 0;
                for (size_t i = 0; i < n && !bad; i++)
                    if (gold[i] && ex[i].output && strcasecmp(ex[i].output, label) == 0 &&
                        strcasecmp(gold[i], label) != 0)
                        for (size_t k = 0; k < t.n && !bad; k++)
                            bad = has_id(&toks[i], t.ids[k]);
                const char *ws = w;
                while (ws < we && *ws == ' ')
                    ws++;
                if (!bad && we > ws)
                    rs_buf_printf(&kept, "%s%.*s", nk++ ? ", " : " ", (int)(we - ws), ws);
                w = we < e ? we + 1 : we;
            }
            if (nk)
                rs_buf_printf(&b, "%s:%s%s", label, rs_buf_str(&kept), *e == '\n' ? "\n" : "");
        }
        p = *e ? e + 1 : e;
    }
    const char *s = rs_buf_str(&b);
    size_t len = strlen(s);
    while (len && s[len - 1] == '\n')
        len--;
    return rs_strndup(a, s, len);
}

const char *rs_reflect_instruction(rs_arena *a, const rs_task *t)
{
    int ci = rs_field_index(t->in, t->n_in, "current_instruction");
    int ei = rs_field_index(t->in, t->n_in, "examples_with_feedback");
    const char *current = ci >= 0 && t->query[ci] ? t->query[ci] : "";
    rexample *ex = rs_alloc(a, MAX_EXAMPLES * sizeof *ex);
    size_t n = ei >= 0 && t->query[ei] ? parse_examples(a, t->query[ei], ex) : 0;

    rs_vocab v;
    rs_vocab_init(&v, a);
    rs_tokens known;
    rs_tokenize(&v, current, strlen(current), &known);
    rs_tokens *toks = rs_alloc(a, (n + 1) * sizeof *toks);
    const char **gold = rs_alloc(a, (n + 1) * sizeof *gold);
    rs_tokens *gold_name = rs_alloc(a, (n + 1) * sizeof *gold_name), *out_name = rs_alloc(a, (n + 1) * sizeof *out_name);
    for (size_t i = 0; i < n; i++) {
        const char *in = rs_buf_str(&ex[i].input);
        rs_tokenize(&v, in, strlen(in), &toks[i]);
        gold[i] = expected_label(a, &ex[i]);
        label_words(&v, gold[i], &gold_name[i]);
        label_words(&v, ex[i].output, &out_name[i]);
    }
    rs_buf b;
    rs_buf_init(&b, a);
    rs_buf_puts(&b, pruned(a, &v, current, ex, gold, toks, n));
    int added = 0;
    for (size_t i = 0; i < n; i++) {
        if (!gold[i] || !ex[i].output || strcasecmp(gold[i], ex[i].output) == 0)
            continue; /* right, or no way to tell what was expected */
        /* Its words that no example of another label shares and that the
         * instruction does not name yet; first the words other examples
         * of its label share, then the words it repeats (the subject of a
         * text comes back), then the longest (most specific). */
        uint32_t pick[KEYWORDS];
        size_t np = 0;
        for (size_t round = 0; round < KEYWORDS; round++) {
            size_t best = SIZE_MAX;
            double best_score = 0;
            for (size_t k = 0; k < toks[i].n; k++) {
                uint32_t id = toks[i].ids[k];
                /* A word in the name of another label (the one it chose
                 * instead, say) would point there as much as here. */
                int bad = has_id(&known, id) || generic(v.surface[id]);
                for (size_t j = 0; j < n && !bad; j++)
                    bad = (gold[j] && strcasecmp(gold[j], gold[i]) != 0 && has_id(&gold_name[j], id)) ||
                          (ex[j].output && strcasecmp(ex[j].output, gold[i]) != 0 && has_id(&out_name[j], id));
                size_t shared = 0;
                for (size_t j = 0; j < n && !bad; j++) {
                    int same = gold[j] && strcasecmp(gold[j], gold[i]) == 0;
                    bad = j != i && !same && has_id(&toks[j], id);
                    shared += j != i && same && has_id(&toks[j], id);
                }
                for (size_t q = 0; q < np && !bad; q++)
                    bad = pick[q] == id;
                double score = 1000.0 * (double)shared + 10.0 * (double)count_id(&toks[i], id) +
                               1.0 / (1.0 + (double)k);
                if (!bad && score > best_score)
                    best = k, best_score = score;
            }
            if (best == SIZE_MAX)
                break;
            pick[np++] = toks[i].ids[best];
        }
        if (!np)
            continue;
        if (!added && !strstr(current, "Label hints"))
            rs_buf_puts(&b, "\nLabel hints (label: keywords that point to it):");
        rs_buf_printf(&b, "\n%s:", gold[i]);
        for (size_t q = 0; q < np; q++) {
            rs_buf_printf(&b, "%s %s", q ? "," : "", v.surface[pick[q]]);
            known.ids = rs_grow(a, known.ids, known.n * sizeof *known.ids, (known.n + 1) * sizeof *known.ids);
            /* later examples of this batch skip words already given */
            known.ids[known.n++] = pick[q];
        }
        added++;
    }
    return rs_buf_str(&b);
}
