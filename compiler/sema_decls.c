/* sema_decls.c — checks of the declarations that do not contain code:
 * enums, field types, signatures, lms, tools and data sets. */
#include "sema_int.h"

#include "dsp/client.h"

#include <ctype.h>
#include <stdio.h>
#include <string.h>
#include <strings.h>

#include "trainer_argv.h"

static const char *const builtin_types[] = { "string", "int", "float", "bool", "list", "optional", "map" };
#define N_BUILTIN_TYPES (sizeof builtin_types / sizeof builtin_types[0])

/* A value as the .dsp writes it: `Hardware`, "HR Support". */
static const char *shown(sema *s, const char *v)
{
    return arena_printf(s->a, ir_is_name(v) ? "`%s`" : "\"%s\"", v);
}

/* A value written as a string must be usable as a label: the runtime
 * matches the LM's answer against it after trimming, and the prompt lists
 * values on one line. Returns 0 after reporting. */
static int enum_string_ok(sema *s, const ast_ident *id)
{
    const char *v = id->name;
    size_t n = strlen(v);
    if (n == 0) {
        diag_error(s->d, id->loc, "an enum value cannot be empty");
        return 0;
    }
    if (isspace((unsigned char)v[0]) || isspace((unsigned char)v[n - 1])) {
        diag_error(s->d, id->loc, "enum value \"%s\" starts or ends with white space; the answer is matched "
                                  "after trimming, so drop the space", v);
        return 0;
    }
    for (const unsigned char *c = (const unsigned char *)v; *c; c++)
        if (*c < 0x20 || *c == 0x7f) {
            diag_error(s->d, id->loc, "enum value \"%s\" holds a control character (a newline or tab); "
                                      "the prompt lists values on one line", v);
            return 0;
        }
    return 1;
}

static const ir_type *enum_from_idents(sema *s, const ptr_vec *values, const char *name)
{
    ir_type *t = arena_alloc(s->a, sizeof *t);
    t->kind = IR_ENUM;
    t->name = name;
    const char **vals = arena_array(s->a, values->len + 1, sizeof *vals);
    const char **idents = arena_array(s->a, values->len + 1, sizeof *idents);
    const ast_ident **from = arena_array(s->a, values->len + 1, sizeof *from);
    size_t n = 0;
    for (size_t i = 0; i < values->len; i++) {
        ast_ident *id = values->items[i];
        if (id->quoted && !enum_string_ok(s, id))
            continue;
        int dup = 0;
        for (size_t j = 0; j < n; j++)
            dup |= strcmp(vals[j], id->name) == 0;
        if (dup) {
            diag_warning(s->d, id->loc, "enum value `%s` is listed twice", id->name);
            continue;
        }
        const char *cid = ir_enum_ident(id->name, arena_alloc(s->a, strlen(id->name) + 1));
        size_t j = 0;
        while (j < n && strcmp(idents[j], cid) != 0)
            j++;
        if (j < n) {
            diag_error(s->d, id->loc, "enum values %s and %s both become `%s` in generated C "
                                      "(letters and digits upper-cased, each run of other characters "
                                      "one `_`); rename one", shown(s, vals[j]), shown(s, id->name), cid);
            diag_note(s->d, from[j]->loc, "%s is here", shown(s, vals[j]));
            continue;
        }
        from[n] = id;
        idents[n] = cid;
        vals[n++] = id->name;
    }
    t->values = vals;
    t->n_values = n;
    return t;
}

const ir_type *sema_resolve_type(sema *s, const ast_type *t)
{
    switch (t->kind) {
    case AT_ENUM:
        return enum_from_idents(s, &t->values, NULL);
    case AT_LIST:
    case AT_OPTIONAL: {
        const ir_type *elem = sema_resolve_type(s, t->elem);
        if (!elem)
            return NULL;
        if (t->kind == AT_OPTIONAL && elem->kind == IR_OPTIONAL) {
            diag_error(s->d, t->loc, "`optional<optional<T>>` is the same as `optional<T>`; "
                                     "drop one `optional`");
            return NULL;
        }
        ir_type *r = arena_alloc(s->a, sizeof *r);
        r->kind = t->kind == AT_LIST ? IR_LIST : IR_OPTIONAL;
        r->elem = elem;
        return r;
    }
    case AT_MAP: {
        const ir_type *key = sema_resolve_type(s, t->key);
        const ir_type *elem = sema_resolve_type(s, t->elem);
        if (!key || !elem)
            return NULL;
        if (key->kind != IR_STRING) {
            diag_error(s->d, t->key->loc, "map keys are strings (JSON object keys are): write "
                                          "`map<string, %s>`", sema_type_str(s, elem));
            return NULL;
        }
        ir_type *r = arena_alloc(s->a, sizeof *r);
        r->kind = IR_MAP;
        r->elem = elem;
        return r;
    }
    case AT_GENERIC:
        if (t->key && (strcmp(t->name, "list") == 0 || strcmp(t->name, "optional") == 0))
            diag_error(s->d, t->loc, "`%s` takes one type, e.g. `%s<string>`; for key/value pairs "
                                     "use `map<string, T>`", t->name, t->name);
        else if (!t->key && strcmp(t->name, "map") == 0)
            diag_error(s->d, t->loc, "`map` takes a key and a value type: `map<string, T>`");
        else
            diag_error(s->d, t->loc, "unknown generic type `%s<...>`; the generic types are "
                                     "`list<T>`, `optional<T>` and `map<string, T>`", t->name);
        return NULL;
    case AT_NAME:
        break;
    }
    if (strcmp(t->name, "string") == 0) return &s->t_string;
    if (strcmp(t->name, "int") == 0) return &s->t_int;
    if (strcmp(t->name, "float") == 0) return &s->t_float;
    if (strcmp(t->name, "bool") == 0) return &s->t_bool;
    if (strcmp(t->name, "list") == 0 || strcmp(t->name, "optional") == 0) {
        diag_error(s->d, t->loc, "`%s` needs an element type, e.g. `%s<string>`", t->name, t->name);
        return NULL;
    }
    if (strcmp(t->name, "map") == 0) {
        diag_error(s->d, t->loc, "`map` needs its key and value types, e.g. `map<string, int>`");
        return NULL;
    }
    sym *sy = sema_lookup(s, t->name);
    if (sy && sy->kind == SYM_ENUM) {
        sy->used = 1;
        return sy->ir;
    }
    if (sy && sy->kind == SYM_RECORD) {
        sy->used = 1;
        if (sy->state == 1) {
            diag_error(s->d, t->loc, "record `%s` contains itself through this field; a record "
                                     "cannot be recursive (not even through list, optional or map): "
                                     "give the inner level its own record type", t->name);
            return NULL;
        }
        return sema_check_record(s, sy);
    }
    if (sy) {
        diag_error(s->d, t->loc, "`%s` is %s %s, not a type", t->name, sym_kind_article(sy->kind),
                   sym_kind_name(sy->kind));
        return NULL;
    }
    const char **names = arena_array(s->a, s->syms.len + N_BUILTIN_TYPES, sizeof *names);
    size_t n = 0;
    for (size_t i = 0; i < N_BUILTIN_TYPES; i++)
        names[n++] = builtin_types[i];
    for (size_t i = 0; i < s->syms.len; i++) {
        sym *o = s->syms.items[i];
        if (o->kind == SYM_ENUM || o->kind == SYM_RECORD)
            names[n++] = o->name;
    }
    diag_error(s->d, t->loc, "unknown type `%s`%s", t->name, sema_did_you_mean(s, t->name, names, n));
    return NULL;
}

void sema_check_enum(sema *s, sym *sy)
{
    sy->ir = (void *)enum_from_idents(s, &sy->decl->values, sy->name);
}

const ir_field *sema_record_field(sema *s, const ir_type *t, const char *name, src_loc loc, const char *what)
{
    if (!t)
        return NULL;
    if (t->kind != IR_RECORD) {
        if (t->kind == IR_OPTIONAL && t->elem->kind == IR_RECORD)
            diag_error(s->d, loc, "%s is %s: it may be absent, so it has no field `%s` to read; "
                                  "make it a required `%s`", what, sema_type_str(s, t), name, t->elem->name);
        else if (t->kind == IR_LIST && t->elem->kind == IR_RECORD)
            diag_error(s->d, loc, "%s is %s: a list has no field `%s`, its items do", what,
                       sema_type_str(s, t), name);
        else
            diag_error(s->d, loc, "%s is %s, not a record: it has no field `%s`", what, sema_type_str(s, t),
                       name);
        return NULL;
    }
    const ir_field *f = ir_field_find(t->fields, t->n_fields, name);
    if (!f)
        diag_error(s->d, loc, "record `%s` (%s) has no field `%s`%s", t->name, what, name,
                   sema_field_names_hint(s, name, t->fields, t->n_fields));
    return f;
}

/* How deep a type nests; the runtime bounds it (dsp_type_check). */
static int type_depth(const ir_type *t)
{
    int d = 0;
    if (t->kind == IR_LIST || t->kind == IR_OPTIONAL || t->kind == IR_MAP)
        d = type_depth(t->elem);
    for (size_t i = 0; t->kind == IR_RECORD && i < t->n_fields; i++) {
        int fd = type_depth(t->fields[i].type);
        if (fd > d)
            d = fd;
    }
    return d + 1;
}

const ir_type *sema_check_record(sema *s, sym *sy)
{
    if (sy->state == 2)
        return sy->ir;
    sy->state = 1;
    ast_decl *d = sy->decl;
    ir_field *fields = arena_array(s->a, d->fields.len + 1, sizeof *fields);
    size_t n = 0;
    int ok = 1;
    for (size_t i = 0; i < d->fields.len; i++) {
        ast_field *f = d->fields.items[i];
        if (ir_field_find(fields, n, f->name.name)) {
            diag_error(s->d, f->name.loc, "field `%s` is declared twice in record `%s`", f->name.name,
                       sy->name);
            ok = 0;
            continue;
        }
        if (sema_is_c_keyword(f->name.name)) {
            diag_error(s->d, f->name.loc, "field `%s` of record `%s` is named like a C keyword, and "
                       "each field becomes a member of a C struct; rename it (e.g. `%s_`)",
                       f->name.name, sy->name, f->name.name);
            ok = 0;
            continue;
        }
        const ir_type *t = sema_resolve_type(s, f->type);
        if (!t) {
            ok = 0;
            continue;
        }
        fields[n].name = f->name.name;
        fields[n].type = t;
        fields[n].desc = f->desc;
        n++;
    }
    if (ok && n == 0) {
        diag_error(s->d, d->name.loc, "record `%s` has no fields; give it at least one "
                                      "(`name: string`)", sy->name);
        ok = 0;
    }
    sy->state = 2;
    if (!ok)
        return NULL;
    ir_type *t = arena_alloc(s->a, sizeof *t);
    t->kind = IR_RECORD;
    t->name = sy->name;
    t->fields = fields;
    t->n_fields = n;
    t->desc = d->str;
    if (type_depth(t) > 16) {
        diag_error(s->d, d->name.loc, "record `%s` nests types more than 16 levels deep, which the "
                   "runtime does not parse; flatten it", sy->name);
        return NULL;
    }
    sy->ir = t;
    ptr_vec_push(s->a, &s->records_done, t);
    return t;
}

/* Fields of one direction; duplicates are errors (a prompt cannot have two
 * sections with one name). */
static ir_field *check_fields(sema *s, const ptr_vec *fields, int outputs, size_t *n_out, int *ok,
                              const ir_field *others, size_t n_others)
{
    ir_field *out = arena_array(s->a, fields->len + 1, sizeof *out);
    size_t n = 0;
    for (size_t i = 0; i < fields->len; i++) {
        ast_field *f = fields->items[i];
        if (f->is_output != outputs)
            continue;
        if (ir_field_find(out, n, f->name.name) || ir_field_find(others, n_others, f->name.name)) {
            diag_error(s->d, f->name.loc, "field `%s` is declared twice in this signature",
                       f->name.name);
            *ok = 0;
            continue;
        }
        const ir_type *t = sema_resolve_type(s, f->type);
        if (!t) {
            *ok = 0;
            continue;
        }
        out[n].name = f->name.name;
        out[n].type = t;
        out[n].desc = f->desc;
        n++;
    }
    *n_out = n;
    return out;
}

void sema_check_signature(sema *s, sym *sy)
{
    ast_decl *d = sy->decl;
    ir_signature *sig = arena_alloc(s->a, sizeof *sig);
    sig->name = sy->name;
    sig->instructions = d->str;
    sig->loc = sema_loc(s, d->loc);
    int ok = 1;
    size_t ni, no;
    sig->inputs = check_fields(s, &d->fields, 0, &ni, &ok, NULL, 0);
    sig->n_inputs = ni;
    sig->outputs = check_fields(s, &d->fields, 1, &no, &ok, sig->inputs, ni);
    sig->n_outputs = no;
    if (ok && no == 0) {
        diag_error(s->d, d->name.loc, "signature `%s` has no output fields; add one, e.g. "
                                      "`out answer: string`", sy->name);
        ok = 0;
    }
    if (ok)
        sy->ir = sig;
}

/* ---- lm ---- */

/* A trainer template is checked here, so that a typo is not found after
 * the teacher's runs over the trainset (opt_finetune_local.c runs it). */
static int check_trainer(sema *s, const ast_decl *d, const char *tmpl)
{
    trainer_values v = { "d", "m", "o", "1", "0" };
    char **argv;
    char why[TRAINER_WHY_MAX];
    if (trainer_argv(tmpl, &v, s->a, &argv, why) == 0)
        return 1;
    const ast_kv *kv = NULL;
    for (size_t j = 0; j < d->kvs.len; j++)
        if (strcmp(((ast_kv *)d->kvs.items[j])->key.name, "trainer") == 0)
            kv = d->kvs.items[j];
    diag_error(s->d, kv ? kv->value->loc : d->loc, "%s", why);
    return 0;
}

/* base_url: one http(s) URL, or several separated by spaces. 0 when
 * good; 1 with the first bad one (or the empty text) in bad; 2 when there
 * are more than DSP_MAX_BASE_URLS. */
static int check_base_urls(const char *spec, char *bad, size_t n)
{
    size_t count = 0;
    const char *p = spec;
    snprintf(bad, n, "%s", spec);
    for (;;) {
        while (*p == ' ')
            p++;
        if (!*p)
            return count ? 0 : 1;
        size_t len = strcspn(p, " ");
        if (strncmp(p, "http://", 7) != 0 && strncmp(p, "https://", 8) != 0) {
            snprintf(bad, n, "%.*s", (int)len, p);
            return 1;
        }
        if (++count > DSP_MAX_BASE_URLS)
            return 2;
        p += len;
    }
}

static int is_env_name(const char *s)
{
    if (!*s || !(isalpha((unsigned char)*s) || *s == '_'))
        return 0;
    for (; *s; s++)
        if (!(isalnum((unsigned char)*s) || *s == '_'))
            return 0;
    return 1;
}

/* Keys are long, mixed-case, and usually carry a vendor prefix. A name of
 * an environment variable is short and upper case. */
static int looks_like_key(const char *v)
{
    if (strncmp(v, "sk-", 3) == 0 || strncmp(v, "sk_", 3) == 0 || strncmp(v, "Bearer ", 7) == 0)
        return 1;
    size_t n = strlen(v), lower = 0, digit = 0;
    for (size_t i = 0; i < n; i++) {
        lower += islower((unsigned char)v[i]) != 0;
        digit += isdigit((unsigned char)v[i]) != 0;
    }
    return n >= 24 && lower > 0 && digit > 0;
}

static int has_key_word(const char *v)
{
    for (const char *w = v; *w; w++)
        if ((w == v || w[-1] == ' ' || w[-1] == '=' || w[-1] == '\'' || w[-1] == '"') &&
            (strncmp(w, "sk-", 3) == 0 || strncmp(w, "sk_", 3) == 0 || strncmp(w, "Bearer ", 7) == 0))
            return 1;
    return 0;
}

/* A key in a base_url: a password in its user part (`user:KEY@host`), a
 * key-named query parameter (`?key=`, `api_key=`, `token=`, ...) or a word
 * that starts like a key after `/`, `=` or `:`. The URL is built into the
 * generated C and names the lm in cache keys, so a key there would be
 * written to both. */
static int url_holds_key(const char *urls)
{
    for (const char *u = urls; *u;) {
        while (*u == ' ')
            u++;
        size_t n = strcspn(u, " ");
        const char *scheme = strstr(u, "://");
        const char *host = scheme && (size_t)(scheme - u) < n ? scheme + 3 : u;
        size_t auth = strcspn(host, "/?# ");
        const char *at = memchr(host, '@', auth);
        if (at && memchr(host, ':', (size_t)(at - host)))
            return 1;
        for (const char *w = u; w < u + n; w++) {
            if (w > u && (w[-1] == '/' || w[-1] == '=' || w[-1] == ':') &&
                (strncmp(w, "sk-", 3) == 0 || strncmp(w, "sk_", 3) == 0))
                return 1;
            static const char *const names[] = { "key=", "api_key=", "api-key=", "apikey=", "token=",
                                                 "access_token=", "auth=" };
            if (w > u && (w[-1] == '?' || w[-1] == '&'))
                for (size_t k = 0; k < sizeof names / sizeof names[0]; k++)
                    if (strncasecmp(w, names[k], strlen(names[k])) == 0)
                        return 1;
        }
        u += n;
    }
    return 0;
}

void sema_check_lm(sema *s, sym *sy)
{
    ast_decl *d = sy->decl;
    ir_lm *lm = arena_alloc(s->a, sizeof *lm);
    lm->name = sy->name;
    lm->loc = sema_loc(s, d->loc);
    int ok = 1;
    const char *slash = strchr(d->str, '/');
    if (!slash || slash == d->str || !slash[1]) {
        diag_error(s->d, d->str_loc, "lm model must be \"provider/model\", e.g. "
                                     "\"openai/gpt-4o-mini\"; got \"%s\"", d->str);
        return;
    }
    lm->provider = arena_strndup(s->a, d->str, (size_t)(slash - d->str));
    lm->model = slash + 1;
    const dsp_provider_info *prov = dsp_provider_find(lm->provider, strlen(lm->provider));
    if (!prov) {
        size_t n_prov = 0;
        const dsp_provider_info *all = dsp_provider_table(&n_prov);
        const char *names[32];
        char known[320];
        size_t used = 0;
        known[0] = '\0';
        for (size_t i = 0; i < n_prov && i < 32; i++) {
            names[i] = all[i].name;
            int w = snprintf(known + used, sizeof known - used, "%s%s", i ? ", " : "", all[i].name);
            if (w > 0 && (size_t)w < sizeof known - used)
                used += (size_t)w;
        }
        diag_error(s->d, d->str_loc, "unknown provider `%s`%s (known: %s)", lm->provider,
                   sema_did_you_mean(s, lm->provider, names, n_prov < 32 ? n_prov : 32), known);
        return;
    }
    for (size_t i = 0; i < d->kvs.len; i++) {
        ast_kv *kv = d->kvs.items[i];
        /* A trainer is a command line: long, with digits in its paths;
         * only a word that starts like a key is one there. */
        int trainer = strcmp(kv->key.name, "trainer") == 0;
        int url = strcmp(kv->key.name, "base_url") == 0;
        if (kv->value->kind == AV_STRING && url && url_holds_key(kv->value->s)) {
            diag_error(s->d, kv->value->loc, "this base_url holds what looks like a key or password (a user "
                       "part with a password, a key-named query parameter or an `sk-` word); never put a key in a "
                       ".dsp file: give the URL without it, set `api_key_env: \"NAME\"` and export the key in "
                       "that variable (it is sent in a header)");
            ok = 0;
        } else if (kv->value->kind == AV_STRING && !url &&
                   (trainer ? has_key_word(kv->value->s) : looks_like_key(kv->value->s))) {
            diag_error(s->d, kv->value->loc, "this looks like an API key; never put a key in a "
                       ".dsp file: set `api_key_env: \"OPENAI_API_KEY\"` (the NAME of an environment "
                       "variable) and export the key in that variable");
            ok = 0;
        }
    }
    if (!ok)
        return;
    ir_option *opts;
    size_t n = sema_check_options(s, &d->kvs, bi_lm_options, bi_n_lm_options, "lm option", &opts);
    if (n == (size_t)-1)
        return;
    lm->base_url = prov->base_url;
    lm->api_key_env = prov->api_key_env;
    ir_option *params = arena_array(s->a, n + 1, sizeof *params);
    size_t np = 0;
    for (size_t i = 0; i < n; i++) {
        if (strcmp(opts[i].key, "base_url") == 0) {
            lm->base_url = opts[i].s;
            char bad[256];
            int why = check_base_urls(lm->base_url, bad, sizeof bad);
            if (why) {
                const ast_kv *kv = NULL;
                for (size_t j = 0; j < d->kvs.len; j++)
                    if (strcmp(((ast_kv *)d->kvs.items[j])->key.name, "base_url") == 0)
                        kv = d->kvs.items[j];
                if (why == 2)
                    diag_error(s->d, kv ? kv->value->loc : d->loc,
                               "base_url lists more than %d URLs; an lm may list at most %d", DSP_MAX_BASE_URLS,
                               DSP_MAX_BASE_URLS);
                else
                    diag_error(s->d, kv ? kv->value->loc : d->loc,
                               "base_url must start with http:// or https://, got \"%s\"%s", bad,
                               strchr(lm->base_url, ' ') ? " (several URLs are separated by spaces)" : "");
                ok = 0;
            }
        } else if (strcmp(opts[i].key, "api_key_env") == 0) {
            lm->api_key_env = opts[i].s;
            if (!is_env_name(lm->api_key_env)) {
                const ast_kv *kv = NULL;
                for (size_t j = 0; j < d->kvs.len; j++)
                    if (strcmp(((ast_kv *)d->kvs.items[j])->key.name, "api_key_env") == 0)
                        kv = d->kvs.items[j];
                diag_error(s->d, kv ? kv->value->loc : d->loc,
                           "api_key_env must be the NAME of an environment variable, like "
                           "\"OPENAI_API_KEY\" (letters, digits, `_`); got \"%s\"", lm->api_key_env);
                ok = 0;
            }
        } else {
            if (strcmp(opts[i].key, "trainer") == 0)
                ok &= check_trainer(s, d, opts[i].s);
            if (strcmp(opts[i].key, "tool_calling") == 0 && strcmp(opts[i].s, "native") == 0 &&
                (prov->provider == DSP_PROVIDER_GEMINI || prov->provider == DSP_PROVIDER_BEDROCK)) {
                const ast_kv *kv = NULL;
                for (size_t j = 0; j < d->kvs.len; j++)
                    if (strcmp(((ast_kv *)d->kvs.items[j])->key.name, "tool_calling") == 0)
                        kv = d->kvs.items[j];
                diag_error(s->d, kv ? kv->value->loc : d->loc,
                           "tool_calling: native is spoken with OpenAI-compatible and Anthropic lms, not `%s`; "
                           "use tool_calling: text", lm->provider);
                ok = 0;
            }
            params[np++] = opts[i];
        }
    }
    if (!lm->base_url || (prov->dsp_needs_base_url && lm->base_url == prov->base_url)) {
        diag_error(s->d, d->str_loc, "provider `%s` has no default address; add "
                   "`base_url: \"http://host:port/v1\"` to the lm block", lm->provider);
        ok = 0;
    }
    lm->params = params;
    lm->n_params = np;
    if (ok)
        sy->ir = lm;
}

/* ---- tools ---- */

/* `tool char *search(const char *q, int64_t k) from "lib.so"`: the C
 * prototype written in the .dsp file, mapped like a header's
 * (sema_tool_header.c, docs/c-headers.md). C would accept two parameters
 * of one name in a prototype; .dsp binds arguments by name, so not here. */
static int check_inline_prototype(sema *s, sym *sy, ir_tool *t)
{
    ast_decl *d = sy->decl;
    int ok = 1;
    for (size_t i = 0; i < d->params.len; i++) {
        ast_cdecl *c = d->params.items[i];
        for (size_t j = 0; j < i; j++)
            if (strcmp(((ast_cdecl *)d->params.items[j])->name.name, c->name.name) == 0) {
                diag_error(s->d, c->name.loc, "parameter `%s` is declared twice", c->name.name);
                ok = 0;
            }
    }
    return ok && sema_tool_from_inline(s, sy, t);
}

void sema_check_tool(sema *s, sym *sy)
{
    ast_decl *d = sy->decl;
    ir_tool *t = arena_alloc(s->a, sizeof *t);
    t->name = sy->name;
    t->loc = sema_loc(s, d->loc);
    int ok = d->header ? sema_tool_from_header(s, sy, t) : check_inline_prototype(s, sy, t);
    if (!d->str[0]) {
        diag_error(s->d, d->str_loc, "tool `%s` needs the shared object it comes from, "
                   "e.g. `from \"build/libtools.so\"`", t->name);
        ok = 0;
    }
    t->library = sema_path_join(s->a, d->loc.file->rel_dir, d->str);
    if (ok)
        sy->ir = t;
}

/* ---- data ---- */

void sema_check_data(sema *s, sym *sy)
{
    ast_decl *d = sy->decl;
    ir_data *data = arena_alloc(s->a, sizeof *data);
    data->name = sy->name;
    data->loc = sema_loc(s, d->loc);
    if (strcmp(d->format.name, "jsonl") != 0 && strcmp(d->format.name, "csv") != 0) {
        const char *names[] = { "jsonl", "csv" };
        diag_error(s->d, d->format.loc, "unknown data format `%s`%s (use jsonl or csv)",
                   d->format.name, sema_did_you_mean(s, d->format.name, names, 2));
        return;
    }
    data->format = d->format.name;
    if (!d->str[0]) {
        diag_error(s->d, d->str_loc, "empty data path");
        return;
    }
    data->path = sema_path_join(s->a, d->loc.file->rel_dir, d->str);
    ptr_vec columns = { 0 };
    if (!sema_data_columns(s, data, d->str_loc, &columns))
        return;
    int ok = 1;
    ir_column *cols;
    size_t n = 0;
    if (d->has_mapping) {
        cols = arena_array(s->a, d->mapping.len + 1, sizeof *cols);
        for (size_t i = 0; i < d->mapping.len; i++) {
            ast_mapping *m = d->mapping.items[i];
            if (!sema_vec_has(&columns, m->column)) {
                diag_error(s->d, m->loc, "data file `%s` has no column `%s`%s", d->str, m->column,
                           sema_did_you_mean(s, m->column, (const char *const *)columns.items,
                                             columns.len));
                ok = 0;
                continue;
            }
            for (size_t j = 0; j < n; j++)
                if (strcmp(cols[j].field, m->field.name) == 0) {
                    diag_error(s->d, m->field.loc, "field `%s` is mapped twice", m->field.name);
                    ok = 0;
                }
            cols[n].column = m->column;
            cols[n].field = m->field.name;
            if (m->type && !(cols[n].type = sema_resolve_type(s, m->type)))
                ok = 0;
            n++;
        }
    } else {
        cols = arena_array(s->a, columns.len + 1, sizeof *cols);
        for (size_t i = 0; i < columns.len; i++) {
            cols[n].column = columns.items[i];
            cols[n].field = columns.items[i];
            n++;
        }
    }
    data->columns = cols;
    data->n_columns = n;
    if (ok)
        sy->ir = data;
}
