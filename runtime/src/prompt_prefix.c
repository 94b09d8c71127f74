/* prompt_prefix.c — a prompt's fixed part, rendered once per client (see
 * prompt_prefix.h).
 *
 * A prefix is found by what the prompt is made of, compared byte for byte:
 * the adapter style, the strategy, every field's name, description and
 * type, the instructions and the demo texts, laid out as "raw" bytes (each
 * string tagged and NUL-terminated, so no two different specs give the
 * same bytes). Comparing costs a walk with memcmp; rendering and escaping
 * cost several times that. Prefixes are immutable once built and counted,
 * so one evicted while a call still sends it lives until that call ends. */
#include "loop.h"
#include "prompt_prefix.h"

#include <alloca.h>
#include <pthread.h>
#include <stdint.h>
#include <stdlib.h>
#include <string.h>

#include "json_write.h"

/* How many prompts a client keeps; a program's predictors, or an
 * optimizer's current candidates. */
#define DSP_PREFIX_MEMOS 32
/* Deeper types than this are rendered on every call, not kept. */
#define DSP_PREFIX_MAX_DEPTH 16

struct dsp_prompt_prefix {
    char *raw; /* what the prompt is made of (see walk_spec) */
    size_t raw_len;
    dsp_messages msgs; /* system, demo pairs; content_json points into json */
    char **json;       /* each message's content as a JSON string */
    char *tail;        /* the final user message's end, after the inputs */
    size_t tail_len;
    unsigned refs;     /* the memo's one, plus one per call using it */
};

struct dsp_prefix_memo {
    pthread_mutex_t lock;
    dsp_prompt_prefix *slot[DSP_PREFIX_MEMOS];
    unsigned next; /* the slot replaced next */
};

/* Writes (out != NULL), compares (cmp != NULL) or measures the raw bytes. */
typedef struct walk {
    char *out;
    const char *cmp, *cmp_end;
    size_t len;
    bool differs; /* comparing: a byte differed; any mode: too deep */
} walk;

static inline void put(walk *w, const void *s, size_t n)
{
    if (w->differs)
        return;
    if (w->cmp) {
        if ((size_t)(w->cmp_end - w->cmp) < n || memcmp(w->cmp, s, n) != 0) {
            w->differs = true;
            return;
        }
        w->cmp += n;
    } else if (w->out) {
        memcpy(w->out + w->len, s, n);
    }
    w->len += n;
}

/* One byte, or a size: compared without a call to memcmp, as these are
 * most of what a walk puts. */
static inline void put_byte(walk *w, char c)
{
    if (w->cmp && !w->differs) {
        if (w->cmp == w->cmp_end || *w->cmp != c)
            w->differs = true;
        else
            w->cmp++, w->len++;
        return;
    }
    put(w, &c, 1);
}

static inline void put_size(walk *w, size_t n)
{
    if (w->cmp && !w->differs) {
        size_t had;
        if ((size_t)(w->cmp_end - w->cmp) < sizeof had || (memcpy(&had, w->cmp, sizeof had), had != n))
            w->differs = true;
        else
            w->cmp += sizeof had, w->len += sizeof had;
        return;
    }
    put(w, &n, sizeof n);
}

/* 'S' text NUL, or 'N' for NULL: a text never holds a NUL. */
static void put_str(walk *w, const char *s)
{
    if (!s) {
        put_byte(w, 'N');
        return;
    }
    put_byte(w, 'S');
    put(w, s, strlen(s) + 1);
}

static void put_fields(walk *w, const dsp_field *f, size_t n, int depth);

static void put_type(walk *w, const dsp_type *t, int depth)
{
    if (depth > DSP_PREFIX_MAX_DEPTH) {
        w->differs = true;
        return;
    }
    if (!t) {
        put_byte(w, 'N');
        return;
    }
    put_byte(w, 'T');
    put_byte(w, (char)t->kind);
    put_str(w, t->name);
    put_size(w, t->enum_values ? t->n_enum_values : 0);
    for (size_t i = 0; t->enum_values && i < t->n_enum_values; i++)
        put_str(w, t->enum_values[i]);
    put_type(w, t->elem, depth + 1);
    put_fields(w, t->fields, t->n_fields, depth + 1);
}

static void put_fields(walk *w, const dsp_field *f, size_t n, int depth)
{
    if (!f)
        n = 0;
    put_size(w, n);
    for (size_t i = 0; i < n; i++) {
        put_str(w, f[i].name);
        put_str(w, f[i].description);
        put_type(w, f[i].type, depth);
    }
}

static void put_texts(walk *w, const char *const *texts, size_t n)
{
    if (!texts) {
        put_byte(w, 'N');
        return;
    }
    put_byte(w, 'A');
    for (size_t i = 0; i < n; i++)
        put_str(w, texts[i]);
}

/* Everything the fixed part of spec's prompt is rendered from. */
static void walk_spec(walk *w, const dsp_adapter_style *style, const dsp_prompt_spec *spec)
{
    const dsp_signature *sig = spec->signature;
    put(w, &style, sizeof style);
    put_byte(w, (char)spec->strategy);
    if (!sig) {
        put_byte(w, 'N');
        return;
    }
    put_str(w, sig->instructions);
    put_str(w, spec->instructions);
    put_fields(w, sig->inputs, sig->n_inputs, 0);
    put_fields(w, sig->outputs, sig->n_outputs, 0);
    size_t n_demos = spec->demos ? spec->n_demos : 0;
    put_size(w, n_demos);
    size_t n_in = sig->inputs ? sig->n_inputs : 0;
    size_t n_out = (sig->outputs ? sig->n_outputs : 0) + (spec->strategy == DSP_STRATEGY_CHAIN_OF_THOUGHT);
    for (size_t d = 0; d < n_demos; d++) {
        put_texts(w, spec->demos[d].input_texts, n_in);
        put_texts(w, spec->demos[d].output_texts, n_out);
    }
}

static void prefix_free(dsp_prompt_prefix *p)
{
    if (!p)
        return;
    for (size_t i = 0; p->json && i < p->msgs.len; i++)
        free(p->json[i]);
    free(p->json);
    dsp_messages_free(&p->msgs);
    free(p->raw);
    free(p->tail);
    free(p);
}

static dsp_prompt_prefix *prefix_build(const dsp_adapter_style *style, const dsp_prompt_spec *spec, size_t raw_len)
{
    dsp_error err = { 0 };
    if (dsp_adapter_check_spec(spec, &err) != DSP_OK) {
        dsp_error_clear(&err);
        return NULL;
    }
    dsp_prompt_prefix *p = calloc(1, sizeof *p);
    if (!p)
        return NULL;
    dsp_messages_init(&p->msgs);
    p->refs = 1;
    p->raw_len = raw_len;
    p->raw = malloc(raw_len ? raw_len : 1);
    dsp_textbuf b;
    dsp_tb_init(&b);
    bool ok = p->raw && dsp_adapter_render_fixed(style, spec, &b, &p->msgs, &err) == DSP_OK;
    dsp_error_clear(&err);
    if (ok) {
        walk w = { .out = p->raw };
        walk_spec(&w, style, spec);
        /* As dsp_adapter_render_ex ends the final message. */
        if (spec->signature->n_inputs)
            dsp_tb_puts(&b, "\n\n");
        style->respond(&b, spec);
        ok = dsp_tb_ok(&b) && (p->tail = dsp_tb_take(&b, &p->tail_len)) != NULL;
    }
    dsp_tb_free(&b);
    p->json = ok ? calloc(p->msgs.len ? p->msgs.len : 1, sizeof *p->json) : NULL;
    ok = ok && p->json;
    for (size_t i = 0; ok && i < p->msgs.len; i++) {
        dsp_jw j;
        dsp_jw_init(&j, strlen(p->msgs.items[i].content) + 64);
        dsp_jw_str(&j, p->msgs.items[i].content);
        p->json[i] = dsp_jw_take(&j);
        dsp_jw_free(&j);
        p->msgs.items[i].content_json = p->json[i];
        ok = p->json[i] != NULL;
    }
    if (!ok) {
        prefix_free(p);
        return NULL;
    }
    return p;
}

dsp_prefix_memo *dsp_prefix_memo_new(void)
{
    dsp_prefix_memo *m = calloc(1, sizeof *m);
    if (m && pthread_mutex_init(&m->lock, NULL) != 0) {
        free(m);
        return NULL;
    }
    return m;
}

void dsp_prefix_memo_free(dsp_prefix_memo *m)
{
    if (!m)
        return;
    for (size_t i = 0; i < DSP_PREFIX_MEMOS; i++)
        prefix_free(m->slot[i]);
    pthread_mutex_destroy(&m->lock);
    free(m);
}

dsp_prompt_prefix *dsp_prefix_get(dsp_prefix_memo *m, const dsp_adapter_style *style, const dsp_prompt_spec *spec)
{
    if (!m || !style || !spec)
        return NULL;
    pthread_mutex_lock(&m->lock);
    for (size_t i = 0; i < DSP_PREFIX_MEMOS; i++) {
        dsp_prompt_prefix *p = m->slot[i];
        if (!p)
            continue;
        walk w = { .cmp = p->raw, .cmp_end = p->raw + p->raw_len };
        walk_spec(&w, style, spec);
        if (!w.differs && w.cmp == w.cmp_end) {
            p->refs++;
            pthread_mutex_unlock(&m->lock);
            return p;
        }
    }
    pthread_mutex_unlock(&m->lock);
    walk size = { 0 };
    walk_spec(&size, style, spec);
    if (size.differs) /* too deep to keep */
        return NULL;
    /* Rendered outside the lock; two threads may both render one new
     * prompt, and both keep theirs (equal, so either serves). */
    dsp_prompt_prefix *p = prefix_build(style, spec, size.len);
    if (!p)
        return NULL;
    pthread_mutex_lock(&m->lock);
    dsp_prompt_prefix *old = m->slot[m->next];
    m->slot[m->next] = p;
    m->next = (m->next + 1) % DSP_PREFIX_MEMOS;
    p->refs++; /* the caller's */
    bool drop = old && --old->refs == 0;
    pthread_mutex_unlock(&m->lock);
    if (drop)
        prefix_free(old);
    return p;
}

void dsp_prefix_release(dsp_prefix_memo *m, dsp_prompt_prefix *p)
{
    if (!m || !p)
        return;
    pthread_mutex_lock(&m->lock);
    bool drop = --p->refs == 0;
    pthread_mutex_unlock(&m->lock);
    if (drop)
        prefix_free(p);
}

const dsp_message *dsp_prefix_messages(const dsp_prompt_prefix *p, size_t *n)
{
    *n = p->msgs.len;
    return p->msgs.items;
}

dsp_status dsp_prefix_render_final(const dsp_prompt_prefix *p, const dsp_prompt_spec *spec, const dsp_value *inputs,
                                   dsp_messages *out, dsp_error *err)
{
    dsp_status st = dsp_adapter_check_inputs(spec, inputs, err);
    if (st != DSP_OK)
        return st;
    /* Built on the stack and copied out at its size; in a job of an event
     * loop on the heap (each stack page a job touches stays resident). */
    enum { STORE = 4096 };
    char *store = dsp_loop_active() ? NULL : alloca(STORE);
    dsp_textbuf b;
    dsp_tb_init_in(&b, store, store ? STORE : 0);
    st = dsp_adapter_input_blocks(&b, spec, inputs, err);
    if (st == DSP_OK) {
        dsp_tb_put(&b, p->tail, p->tail_len);
        st = dsp_adapter_push(out, DSP_ROLE_USER, &b, err);
    }
    dsp_tb_free(&b);
    return st;
}
