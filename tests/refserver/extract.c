/* extract.c — the fixture's span extractor (see extract.h). */
#include "extract.h"

#include <ctype.h>
#include <string.h>
#include <strings.h>

#include <cjson/cJSON.h>

#include "text.h"

enum { MAX_SPAN = 6, MAX_TYPES = 32 };

/* The shape of a capitalised token, a cue whose reliability demos teach:
 * first in the sentence, all capitals, an @mention or #tag, or other. */
typedef enum shape { SH_INITIAL, SH_ALLCAPS, SH_MENTION, SH_TAG, SH_CAP, N_SHAPES } shape;

/* What the prompt taught: known spans and per-token evidence. */
typedef struct entry {
    const char *key;        /* lower-cased span or token */
    int votes[MAX_TYPES];   /* per type index */
    int non_entity;         /* capitalised in a demo input outside every span */
} entry;

typedef struct lex {
    rs_arena *a;
    entry *spans, *tokens;
    size_t n_spans, cap_spans, n_tokens, cap_tokens;
    int type_total[MAX_TYPES];
    /* Per shape: capitalised demo tokens in a span / outside every span,
     * and the types of the spans they start. */
    int shape_in[N_SHAPES], shape_out[N_SHAPES];
    int shape_votes[N_SHAPES][MAX_TYPES];
    /* Words just before a span (lower-cased), voting for its type. */
    entry *before;
    size_t n_before, cap_before;
    const char *const *types;
    size_t n_types;
} lex;

static const cJSON *enum_of(const cJSON *prop)
{
    const cJSON *en = cJSON_GetObjectItemCaseSensitive(prop, "enum");
    if (cJSON_IsArray(en))
        return en;
    const cJSON *any = cJSON_GetObjectItemCaseSensitive(prop, "anyOf"), *alt;
    cJSON_ArrayForEach(alt, any) {
        en = cJSON_GetObjectItemCaseSensitive(alt, "enum");
        if (cJSON_IsArray(en))
            return en;
    }
    return NULL;
}

static bool is_string_prop(const cJSON *prop)
{
    const cJSON *type = cJSON_GetObjectItemCaseSensitive(prop, "type");
    return cJSON_IsString(type) && strcmp(type->valuestring, "string") == 0 && !enum_of(prop);
}

void rs_extract_set_items(rs_arena *a, rs_field *f, const cJSON *items)
{
    const cJSON *props = cJSON_GetObjectItemCaseSensitive(items, "properties");
    if (!cJSON_IsObject(props))
        return;
    const cJSON *text = cJSON_GetObjectItemCaseSensitive(props, "text"), *p;
    if (!is_string_prop(text)) {
        text = NULL;
        cJSON_ArrayForEach(p, props)
            if (!text && is_string_prop(p))
                text = p;
    }
    const cJSON *type = NULL;
    cJSON_ArrayForEach(p, props)
        if (!type && p != text && enum_of(p))
            type = p;
    if (!text || !type)
        return;
    char *s = cJSON_PrintUnformatted(items);
    if (!s)
        return;
    f->item_schema = rs_strdup(a, s);
    cJSON_free(s);
    f->item_text = rs_strdup(a, text->string);
    f->item_type = rs_strdup(a, type->string);
}

bool rs_extract_applies(const rs_field *f)
{
    return f->kind == RS_LIST && f->item_schema && f->item_text && f->item_type;
}

static char *lower_dup(rs_arena *a, const char *s, size_t n)
{
    char *out = rs_alloc(a, n + 1);
    for (size_t i = 0; i < n; i++)
        out[i] = (char)tolower((unsigned char)s[i]);
    out[n] = '\0';
    return out;
}

static entry *find(entry *es, size_t n, const char *key)
{
    for (size_t i = 0; i < n; i++)
        if (strcmp(es[i].key, key) == 0)
            return &es[i];
    return NULL;
}

static entry *add(lex *l, entry **es, size_t *n, size_t *cap, const char *key)
{
    entry *e = find(*es, *n, key);
    if (e)
        return e;
    if (*n == *cap) {
        size_t nc = *cap ? *cap * 2 : 32;
        *es = rs_grow(l->a, *es, *n * sizeof **es, nc * sizeof **es);
        *cap = nc;
    }
    e = &(*es)[(*n)++];
    memset(e, 0, sizeof *e);
    e->key = key;
    return e;
}

static int type_index(const lex *l, const char *type)
{
    for (size_t i = 0; i < l->n_types && i < MAX_TYPES; i++)
        if (strcasecmp(l->types[i], type) == 0)
            return (int)i;
    return -1;
}

/* Whitespace tokens of s (the data sets are pre-tokenized this way). */
static size_t split(rs_arena *a, const char *s, const char ***out)
{
    size_t n = 0, cap = 16;
    const char **toks = rs_alloc(a, cap * sizeof *toks);
    while (s && *s) {
        while (*s && isspace((unsigned char)*s))
            s++;
        const char *st = s;
        while (*s && !isspace((unsigned char)*s))
            s++;
        if (s > st) {
            if (n == cap) {
                toks = rs_grow(a, toks, n * sizeof *toks, cap * 2 * sizeof *toks);
                cap *= 2;
            }
            toks[n++] = rs_strndup(a, st, (size_t)(s - st));
        }
    }
    *out = toks;
    return n;
}

static const char *join(rs_arena *a, const char **toks, size_t from, size_t to, bool lower)
{
    rs_buf b;
    rs_buf_init(&b, a);
    for (size_t i = from; i < to; i++) {
        if (i > from)
            rs_buf_add(&b, " ", 1);
        rs_buf_puts(&b, toks[i]);
    }
    const char *s = rs_buf_str(&b);
    return lower ? lower_dup(a, s, strlen(s)) : s;
}

/* A surface cue: a capitalised word, or an @mention / #tag. */
static bool capitalised(const char *t)
{
    unsigned char c = (unsigned char)t[0];
    if ((c == '@' || c == '#') && isalnum((unsigned char)t[1]))
        return true;
    return c < 128 && isupper(c);
}

static shape shape_of(const char *t, size_t pos)
{
    if (t[0] == '@')
        return SH_MENTION;
    if (t[0] == '#')
        return SH_TAG;
    if (pos == 0)
        return SH_INITIAL;
    size_t n = strlen(t), up = 0;
    for (size_t i = 0; i < n; i++)
        up += isupper((unsigned char)t[i]) != 0;
    return n >= 2 && up == n ? SH_ALLCAPS : SH_CAP;
}

static void learn_span(lex *l, const char *text, int ti)
{
    const char **toks;
    size_t n = split(l->a, text, &toks);
    if (n == 0 || ti < 0)
        return;
    entry *e = add(l, &l->spans, &l->n_spans, &l->cap_spans, join(l->a, toks, 0, n, true));
    e->votes[ti]++;
    l->type_total[ti]++;
    for (size_t i = 0; i < n; i++)
        add(l, &l->tokens, &l->n_tokens, &l->cap_tokens, lower_dup(l->a, toks[i], strlen(toks[i])))->votes[ti]++;
}

/* A demo: its spans, and its input's capitalised words outside them. */
static void learn_demo(lex *l, const rs_task *t, const rs_example *d, size_t f)
{
    const rs_field *fd = &t->out[f];
    cJSON *arr = d->out && d->out[f] ? cJSON_Parse(d->out[f]) : NULL;
    if (!cJSON_IsArray(arr)) {
        cJSON_Delete(arr);
        return;
    }
    const cJSON *it;
    cJSON_ArrayForEach(it, arr) {
        const cJSON *tx = cJSON_GetObjectItemCaseSensitive(it, fd->item_text);
        const cJSON *ty = cJSON_GetObjectItemCaseSensitive(it, fd->item_type);
        if (cJSON_IsString(tx) && cJSON_IsString(ty))
            learn_span(l, tx->valuestring, type_index(l, ty->valuestring));
    }
    for (size_t k = 0; k < t->n_in; k++) {
        const char **toks;
        size_t n = split(l->a, d->in ? d->in[k] : NULL, &toks);
        char *in_span = rs_alloc(l->a, n + 1);
        int *span_type = rs_alloc(l->a, (n + 1) * sizeof *span_type);
        /* Mark the tokens each span covers (its first occurrence). */
        cJSON_ArrayForEach(it, arr) {
            const cJSON *tx = cJSON_GetObjectItemCaseSensitive(it, fd->item_text);
            const cJSON *ty = cJSON_GetObjectItemCaseSensitive(it, fd->item_type);
            const char **st;
            size_t sn = cJSON_IsString(tx) ? split(l->a, tx->valuestring, &st) : 0;
            int ti = cJSON_IsString(ty) ? type_index(l, ty->valuestring) : -1;
            for (size_t i = 0; sn && i + sn <= n; i++) {
                size_t j = 0;
                while (j < sn && !in_span[i + j] && strcmp(st[j], toks[i + j]) == 0)
                    j++;
                if (j < sn)
                    continue;
                for (j = 0; j < sn; j++)
                    in_span[i + j] = j == 0 ? 2 : 1; /* 2: starts the span */
                span_type[i] = ti;
                if (i > 0 && ti >= 0)
                    add(l, &l->before, &l->n_before, &l->cap_before,
                        lower_dup(l->a, toks[i - 1], strlen(toks[i - 1])))->votes[ti]++;
                break;
            }
        }
        for (size_t i = 0; i < n; i++) {
            if (!capitalised(toks[i]))
                continue;
            shape sh = shape_of(toks[i], i);
            if (in_span[i]) {
                l->shape_in[sh]++;
                if (in_span[i] == 2 && span_type[i] >= 0)
                    l->shape_votes[sh][span_type[i]]++;
            } else {
                l->shape_out[sh]++;
                add(l, &l->tokens, &l->n_tokens, &l->cap_tokens, lower_dup(l->a, toks[i], strlen(toks[i])))
                    ->non_entity++;
            }
        }
    }
    cJSON_Delete(arr);
}

/* `Word (type)` and `"Two words" (type)` in the instructions. */
static void learn_hints(lex *l, const char *instr)
{
    for (const char *p = instr ? strchr(instr, '(') : NULL; p; p = strchr(p + 1, '(')) {
        const char *close = strchr(p, ')');
        if (!close)
            break;
        int ti = -1;
        for (size_t i = 0; i < l->n_types && i < MAX_TYPES; i++)
            if (strlen(l->types[i]) == (size_t)(close - p - 1) &&
                strncasecmp(l->types[i], p + 1, (size_t)(close - p - 1)) == 0)
                ti = (int)i;
        if (ti < 0)
            continue;
        const char *e = p;
        while (e > instr && e[-1] == ' ')
            e--;
        const char *s = e;
        if (s > instr && s[-1] == '"') {
            e--;
            s = e;
            while (s > instr && s[-1] != '"')
                s--;
        } else {
            while (s > instr && !isspace((unsigned char)s[-1]) && s[-1] != ',' && s[-1] != ':')
                s--;
        }
        if (e > s)
            learn_span(l, rs_strndup(l->a, s, (size_t)(e - s)), ti);
    }
}

static int best(const int *votes, size_t n)
{
    int b = -1;
    for (size_t i = 0; i < n && i < MAX_TYPES; i++)
        if (votes[i] > 0 && (b < 0 || votes[i] > votes[b]))
            b = (int)i;
    return b;
}

/* The type of a cue span: votes of its tokens, of the word before it and
 * of its shape, else the demos' most common type, else the first. */
static int cue_type(const lex *l, const char **toks, size_t from, size_t to)
{
    int votes[MAX_TYPES] = { 0 };
    if (from > 0) {
        char prev[256];
        size_t pn = strlen(toks[from - 1]);
        for (size_t k = 0; pn < sizeof prev && k <= pn; k++)
            prev[k] = (char)tolower((unsigned char)toks[from - 1][k]);
        const entry *e = pn < sizeof prev ? find(l->before, l->n_before, prev) : NULL;
        for (size_t k = 0; e && k < l->n_types && k < MAX_TYPES; k++)
            votes[k] += e->votes[k];
    }
    /* @mentions and #tags say something about the type; other shapes
     * would only repeat the demos' type mix. */
    shape sh = shape_of(toks[from], from);
    for (size_t k = 0; (sh == SH_MENTION || sh == SH_TAG) && k < l->n_types && k < MAX_TYPES; k++)
        votes[k] += l->shape_votes[sh][k];
    for (size_t i = from; i < to; i++) {
        char low[256];
        size_t n = strlen(toks[i]);
        if (n >= sizeof low)
            continue;
        for (size_t k = 0; k <= n; k++)
            low[k] = (char)tolower((unsigned char)toks[i][k]);
        const entry *e = find(l->tokens, l->n_tokens, low);
        for (size_t k = 0; e && k < l->n_types && k < MAX_TYPES; k++)
            votes[k] += e->votes[k];
    }
    int b = best(votes, l->n_types);
    if (b < 0)
        b = best(l->type_total, l->n_types);
    return b < 0 ? 0 : b;
}

/* Whether demos showed that capitalised tokens of this shape are mostly
 * no entity (seen at least 3 times). */
static bool shape_unreliable(const lex *l, const char *tok, size_t pos)
{
    shape sh = shape_of(tok, pos);
    /* Other capitalised words are judged one by one (non_entity): in
     * social-media text they are too mixed to refuse as a class. */
    if (sh == SH_CAP)
        return false;
    return l->shape_in[sh] + l->shape_out[sh] >= 3 && l->shape_out[sh] > 2 * l->shape_in[sh];
}

static bool non_entity(const lex *l, const char *tok)
{
    char low[256];
    size_t n = strlen(tok);
    if (n >= sizeof low)
        return false;
    for (size_t k = 0; k <= n; k++)
        low[k] = (char)tolower((unsigned char)tok[k]);
    const entry *e = find(l->tokens, l->n_tokens, low);
    if (!e)
        return false;
    int as_entity = 0;
    for (size_t k = 0; k < l->n_types && k < MAX_TYPES; k++)
        as_entity += e->votes[k];
    return e->non_entity > as_entity;
}

/* Another property of the item record: a neutral value of its type. */
static cJSON *neutral(const cJSON *prop)
{
    const cJSON *en = enum_of(prop);
    if (cJSON_GetObjectItemCaseSensitive(prop, "anyOf"))
        return cJSON_CreateNull();
    if (en && en->child)
        return cJSON_Duplicate(en->child, 1);
    const cJSON *type = cJSON_GetObjectItemCaseSensitive(prop, "type");
    const char *s = cJSON_IsString(type) ? type->valuestring : "string";
    if (strcmp(s, "integer") == 0 || strcmp(s, "number") == 0)
        return cJSON_CreateNumber(0);
    if (strcmp(s, "boolean") == 0)
        return cJSON_CreateFalse();
    if (strcmp(s, "array") == 0)
        return cJSON_CreateArray();
    if (strcmp(s, "object") == 0)
        return cJSON_CreateObject();
    return cJSON_CreateString("");
}

static void emit(cJSON *arr, const cJSON *schema, const rs_field *fd, const char *text, const char *type)
{
    cJSON *item = cJSON_CreateObject();
    const cJSON *props = cJSON_GetObjectItemCaseSensitive(schema, "properties"), *p;
    cJSON_ArrayForEach(p, props) {
        if (strcmp(p->string, fd->item_text) == 0)
            cJSON_AddStringToObject(item, p->string, text);
        else if (strcmp(p->string, fd->item_type) == 0)
            cJSON_AddStringToObject(item, p->string, type);
        else
            cJSON_AddItemToObject(item, p->string, neutral(p));
    }
    cJSON_AddItemToArray(arr, item);
}

const char *rs_extract(rs_arena *a, const rs_task *t, size_t f)
{
    const rs_field *fd = &t->out[f];
    cJSON *schema = cJSON_Parse(fd->item_schema);
    const cJSON *en = enum_of(cJSON_GetObjectItemCaseSensitive(cJSON_GetObjectItemCaseSensitive(schema, "properties"),
                                                               fd->item_type));
    lex l;
    memset(&l, 0, sizeof l);
    l.a = a;
    size_t nt = 0;
    const char **types = rs_alloc(a, ((size_t)cJSON_GetArraySize(en) + 1) * sizeof *types);
    const cJSON *v;
    cJSON_ArrayForEach(v, en)
        if (cJSON_IsString(v))
            types[nt++] = rs_strdup(a, v->valuestring);
    l.types = types;
    l.n_types = nt;
    for (size_t d = 0; d < t->n_demos; d++)
        learn_demo(&l, t, &t->demos[d], f);
    learn_hints(&l, t->instructions);

    cJSON *arr = cJSON_CreateArray();
    for (size_t k = 0; nt && k < t->n_in; k++) {
        const char **toks;
        size_t n = split(a, t->query ? t->query[k] : NULL, &toks);
        for (size_t i = 0; i < n;) {
            /* The longest known span here wins. */
            size_t len = 0;
            int ti = -1;
            for (size_t m = MAX_SPAN; m >= 1 && len == 0; m--) {
                if (i + m > n)
                    continue;
                const entry *e = find(l.spans, l.n_spans, join(a, toks, i, i + m, true));
                if (e && best(e->votes, nt) >= 0) {
                    len = m;
                    ti = best(e->votes, nt);
                }
            }
            /* A shape demos showed unreliable still starts a span when a
             * second capitalised word follows it ("Willie Nelson will"). */
            bool pair = i + 1 < n && capitalised(toks[i + 1]) && !non_entity(&l, toks[i + 1]);
            if (len == 0 && capitalised(toks[i]) && !non_entity(&l, toks[i]) &&
                (pair || !shape_unreliable(&l, toks[i], i))) {
                len = 1;
                while (i + len < n && len < MAX_SPAN && capitalised(toks[i + len]) && !non_entity(&l, toks[i + len]) &&
                       !shape_unreliable(&l, toks[i + len], i + len))
                    len++;
                ti = cue_type(&l, toks, i, i + len);
            }
            if (len == 0) {
                i++;
                continue;
            }
            emit(arr, schema, fd, join(a, toks, i, i + len, false), types[ti]);
            i += len;
        }
    }
    char *s = cJSON_PrintUnformatted(arr);
    const char *out = rs_strdup(a, s ? s : "[]");
    cJSON_free(s);
    cJSON_Delete(arr);
    cJSON_Delete(schema);
    return out;
}
