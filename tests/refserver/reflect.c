/* reflect.c — answer a reflection prompt (see reflect.h): read the
 * examples with their outputs and feedback, find the label the feedback
 * says was expected, and add hint lines for the labels the assistant got
 * wrong to the current instruction. */
#include "reflect.h"

#include <ctype.h>
#include <string.h>
#include <strings.h>

enum { MAX_EXAMPLES = 64, KEYWORDS = 3 };

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

/* The word after `after` in text (quotes and backticks stripped), or NULL. */
static const char *word_after(rs_arena *a, const char *text, const char *after)
{
    size_t n = strlen(after);
    for (const char *p = text; *p; p++) {
        if (strncasecmp(p, after, n) != 0 || (p > text && isalnum((unsigned char)p[-1])))
            continue;
        const char *s = p + n;
        while (*s == ' ' || *s == '`' || *s == '"' || *s == '\'' || *s == ':')
            s++;
        const char *e = s;
        while (isalnum((unsigned char)*e) || *e == '_' || *e == '-')
            e++;
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
        const char *w = word_after(a, fb, forms[i]);
        if (w && strcasecmp(w, "outputs") != 0 && strcasecmp(w, "output") != 0)
            return w;
    }
    return NULL;
}

static int has_id(const rs_tokens *t, uint32_t id)
{
    for (size_t i = 0; i < t->n; i++)
        if (t->ids[i] == id)
            return 1;
    return 0;
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
    for (size_t i = 0; i < n; i++) {
        const char *in = rs_buf_str(&ex[i].input);
        rs_tokenize(&v, in, strlen(in), &toks[i]);
        gold[i] = expected_label(a, &ex[i]);
    }
    rs_buf b;
    rs_buf_init(&b, a);
    rs_buf_puts(&b, current);
    int added = 0;
    for (size_t i = 0; i < n; i++) {
        if (!gold[i] || !ex[i].output || strcasecmp(gold[i], ex[i].output) == 0)
            continue; /* right, or no way to tell what was expected */
        /* Its words that no example of another label shares and that the
         * instruction does not name yet, longest (most specific) first. */
        uint32_t pick[KEYWORDS];
        size_t np = 0;
        for (size_t round = 0; round < KEYWORDS; round++) {
            size_t best = SIZE_MAX, best_len = 0;
            for (size_t k = 0; k < toks[i].n; k++) {
                uint32_t id = toks[i].ids[k];
                int bad = has_id(&known, id);
                for (size_t j = 0; j < n && !bad; j++)
                    bad = j != i && (!gold[j] || strcasecmp(gold[j], gold[i]) != 0) && has_id(&toks[j], id);
                for (size_t q = 0; q < np && !bad; q++)
                    bad = pick[q] == id;
                size_t len = strlen(v.surface[id]);
                if (!bad && len > best_len)
                    best = k, best_len = len;
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
