/* interp_tools.c — calling external C tools from the interpreter: the
 * shared object is opened with dlopen once per runner (handles cached under
 * a lock, so concurrent examples share them), the symbol found with dlsym,
 * and the call made through libffi, because a tool's C signature is only
 * known at run time.
 *
 * The conventions are docs/c-headers.md's: lists go in as a C array and
 * its length, results come back through output pointers, and the caller
 * frees what the tool allocated. Scalars are passed by the size and class
 * of grammar/cheader.h's one table (ch_scalar_find), with the range checks
 * C would skip. */
#include "interp_int.h"
#include "file_read.h"

#include <dlfcn.h>
#include <ffi.h>
#include <float.h>
#include <limits.h>
#include <math.h>
#include <stdint.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include "cheader.h"
#include "ir_runtime.h"

void it_tools_init(it_tools *t)
{
    memset(t, 0, sizeof *t);
    pthread_mutex_init(&t->lock, NULL);
}

void it_tools_free(it_tools *t)
{
    for (size_t i = 0; i < t->n_libs; i++) {
        if (t->libs[i].handle)
            dlclose(t->libs[i].handle);
        free(t->libs[i].path);
    }
    free(t->libs);
    pthread_mutex_destroy(&t->lock);
    memset(t, 0, sizeof *t);
}

static void *open_library(it_tools *t, const char *path, const char *tool, dsp_error *err)
{
    pthread_mutex_lock(&t->lock);
    void *h = NULL;
    for (size_t i = 0; i < t->n_libs; i++)
        if (strcmp(t->libs[i].path, path) == 0)
            h = t->libs[i].handle;
    const char *not_file = NULL;
    /* dlopen of a FIFO would wait for a writer for ever. A name without a
     * slash is searched for by the loader, so only a path is checked. */
    if (!h && strchr(path, '/') && fr_check_regular(path, &not_file) != 0) {
        dsp_error_set(err, DSP_ERR_INVALID, "tool `%s`: cannot load library `%s`: %s", tool, path, not_file);
    } else if (!h) {
        h = dlopen(path, RTLD_NOW | RTLD_LOCAL);
        if (!h) {
            const char *why = dlerror();
            dsp_error_set(err, DSP_ERR_INVALID, "tool `%s`: cannot load library `%s`: %s", tool, path,
                          why ? why : "unknown error");
        } else {
            it_library *n = realloc(t->libs, (t->n_libs + 1) * sizeof *n);
            char *copy = strdup(path);
            if (!n || !copy) {
                free(copy);
                if (n)
                    t->libs = n;
                dlclose(h);
                h = NULL;
                dsp_error_set(err, DSP_ERR_NOMEM, "out of memory loading `%s`", path);
            } else {
                t->libs = n;
                t->libs[t->n_libs].path = copy;
                t->libs[t->n_libs].handle = h;
                t->n_libs++;
            }
        }
    }
    pthread_mutex_unlock(&t->lock);
    return h;
}

/* One C value: an argument passed by value, a result, or the storage an
 * output pointer points at. Every member starts at offset 0, so the first
 * `size` bytes are the value of a scalar of that size, which is how list
 * elements are copied in and out of C arrays. */
typedef union c_slot {
    void *p;
    const char *str;
    int8_t i8;
    int16_t i16;
    int32_t i32;
    int64_t i64;
    uint8_t u8;
    uint16_t u16;
    uint32_t u32;
    uint64_t u64;
    float f;
    double d;
    ffi_arg widened;            /* an integral result narrower than a register */
} c_slot;

/* The scalar a C type names; a list's element type may carry a `const`. */
static const ch_scalar *scalar_of(const char *ctype)
{
    if (!ctype)
        return NULL;
    if (strncmp(ctype, "const ", 6) == 0)
        ctype += 6;
    return ch_scalar_find(ctype);
}

/* libffi passes scalars by size and signedness; a bool is an unsigned
 * integer of sizeof(bool). */
static ffi_type *ffi_scalar(const ch_scalar *sc)
{
    if (sc->cls == CH_FLOATING)
        return sc->size == sizeof(float) ? &ffi_type_float : sc->size == sizeof(double) ? &ffi_type_double : NULL;
    bool sign = sc->cls == CH_SIGNED;
    switch (sc->size) {
    case 1: return sign ? &ffi_type_sint8 : &ffi_type_uint8;
    case 2: return sign ? &ffi_type_sint16 : &ffi_type_uint16;
    case 4: return sign ? &ffi_type_sint32 : &ffi_type_uint32;
    case 8: return sign ? &ffi_type_sint64 : &ffi_type_uint64;
    default: return NULL;
    }
}

/* `levels` trailing `*` of ctype removed, with the `const` that qualified
 * them: "uint32_t **" -> "uint32_t", "const char *const *" -> "const char *".
 * Only for IR from before elem_ctype was filled in. */
static const char *strip_pointers(const char *ctype, int levels, char *buf, size_t cap)
{
    snprintf(buf, cap, "%s", ctype);
    size_t n = strlen(buf);
    for (;;) {
        while (n > 0 && buf[n - 1] == ' ')
            n--;
        if (n >= 5 && strncmp(buf + n - 5, "const", 5) == 0 && n > 5 && (buf[n - 6] == ' ' || buf[n - 6] == '*')) {
            n -= 5;
            continue;
        }
        if (levels > 0 && n > 0 && buf[n - 1] == '*') {
            n--;
            levels--;
            continue;
        }
        break;
    }
    buf[n] = '\0';
    return buf;
}

/* The C type of one element of a list parameter, or of an output's pointee. */
static const char *elem_of(const ir_tool_param *p, char *buf, size_t cap)
{
    if (p->elem_ctype)
        return p->elem_ctype;
    int levels = p->role == IR_PARAM_OUT && p->type && p->type->kind == IR_LIST ? 2 : 1;
    return strip_pointers(p->ctype, levels, buf, cap);
}

static bool is_list(const ir_tool_param *p)
{
    return p->type && p->type->kind == IR_LIST;
}

static bool is_map(const ir_tool_param *p)
{
    return p->type && p->type->kind == IR_MAP;
}

static bool is_string(const ir_type *t)
{
    return t && t->kind == IR_STRING;
}

static dsp_status range_error(const ir_tool *t, const char *what, const ch_scalar *sc, const char *value,
                              dsp_error *err)
{
    char bounds[96] = "";
    if (sc->cls == CH_SIGNED && sc->size < 8) {
        long long max = (long long)((INT64_C(1) << (sc->size * 8 - 1)) - 1);
        snprintf(bounds, sizeof bounds, " (%lld to %lld)", -max - 1, max);
    } else if (sc->cls == CH_UNSIGNED && sc->size < 8) {
        snprintf(bounds, sizeof bounds, " (0 to %llu)", (unsigned long long)((UINT64_C(1) << (sc->size * 8)) - 1));
    } else if (sc->cls == CH_UNSIGNED) {
        snprintf(bounds, sizeof bounds, " (it takes no negative number)");
    }
    return dsp_error_set(err, DSP_ERR_INVALID, "tool `%s`: %s is %s, out of range for C type `%s`%s", t->name, what,
                         value, sc->name, bounds);
}

/* Writes v as the C scalar sc into *dst. An integer that does not fit, or
 * a float with a fraction passed as an integer, is an error naming the
 * parameter, the value and the C type: C would truncate it silently. */
static dsp_status to_c(const ir_tool *t, const char *what, const ch_scalar *sc, const dsp_value *v, c_slot *dst,
                       dsp_error *err)
{
    memset(dst, 0, sizeof *dst);
    char text[64];
    if (v->kind != DSP_TYPE_INT && v->kind != DSP_TYPE_FLOAT && v->kind != DSP_TYPE_BOOL)
        return dsp_error_set(err, DSP_ERR_INVALID, "tool `%s`: internal: %s is not a number", t->name, what);
    if (sc->cls == CH_BOOLEAN || sc->cls == CH_FLOATING) {
        double d = v->kind == DSP_TYPE_INT ? (double)v->as.i : v->kind == DSP_TYPE_BOOL ? v->as.b : v->as.f;
        if (sc->cls == CH_BOOLEAN) {
            uint64_t b = d != 0;
            switch (sc->size) {
            case 1: dst->u8 = (uint8_t)b; break;
            case 2: dst->u16 = (uint16_t)b; break;
            case 4: dst->u32 = (uint32_t)b; break;
            default: dst->u64 = b; break;
            }
        } else if (sc->size == sizeof(float)) {
            if (isfinite(d) && (d > FLT_MAX || d < -FLT_MAX)) {
                snprintf(text, sizeof text, "%.17g", d);
                return range_error(t, what, sc, text, err);
            }
            dst->f = (float)d;
        } else {
            dst->d = d;
        }
        return DSP_OK;
    }
    int64_t i;
    if (v->kind == DSP_TYPE_FLOAT) {
        double d = v->as.f;
        if (!(d >= -0x1p63 && d < 0x1p63) || d != trunc(d)) {
            snprintf(text, sizeof text, "%.17g", d);
            return dsp_error_set(err, DSP_ERR_INVALID, "tool `%s`: %s is %s, not an integer that C type `%s` "
                                 "can hold", t->name, what, text, sc->name);
        }
        i = (int64_t)d;
    } else {
        i = v->kind == DSP_TYPE_INT ? v->as.i : v->as.b;
    }
    snprintf(text, sizeof text, "%lld", (long long)i);
    if (sc->cls == CH_SIGNED) {
        if (sc->size < 8) {
            int64_t max = (INT64_C(1) << (sc->size * 8 - 1)) - 1;
            if (i > max || i < -max - 1)
                return range_error(t, what, sc, text, err);
        }
        switch (sc->size) {
        case 1: dst->i8 = (int8_t)i; break;
        case 2: dst->i16 = (int16_t)i; break;
        case 4: dst->i32 = (int32_t)i; break;
        default: dst->i64 = i; break;
        }
        return DSP_OK;
    }
    if (i < 0 || (sc->size < 8 && (uint64_t)i > (UINT64_C(1) << (sc->size * 8)) - 1))
        return range_error(t, what, sc, text, err);
    switch (sc->size) {
    case 1: dst->u8 = (uint8_t)i; break;
    case 2: dst->u16 = (uint16_t)i; break;
    case 4: dst->u32 = (uint32_t)i; break;
    default: dst->u64 = (uint64_t)i; break;
    }
    return DSP_OK;
}

static int64_t read_signed(const c_slot *s, unsigned size)
{
    switch (size) {
    case 1: return s->i8;
    case 2: return s->i16;
    case 4: return s->i32;
    default: return s->i64;
    }
}

static uint64_t read_unsigned(const c_slot *s, unsigned size)
{
    switch (size) {
    case 1: return s->u8;
    case 2: return s->u16;
    case 4: return s->u32;
    default: return s->u64;
    }
}

/* The C scalar in *src as a value of .dsp type `type` (an int read into a
 * float field is widened). An unsigned value above INT64_MAX has no .dsp
 * int and is an error rather than a wrapped negative number. */
static dsp_status from_c(const ir_tool *t, const char *what, const ch_scalar *sc, const c_slot *src,
                         const ir_type *type, dsp_value *out, dsp_error *err)
{
    switch (sc->cls) {
    case CH_FLOATING:
        *out = dsp_value_float(sc->size == sizeof(float) ? (double)src->f : src->d);
        break;
    case CH_BOOLEAN:
        *out = dsp_value_bool(read_unsigned(src, sc->size) != 0);
        break;
    case CH_SIGNED:
        *out = dsp_value_int(read_signed(src, sc->size));
        break;
    case CH_UNSIGNED: {
        uint64_t u = read_unsigned(src, sc->size);
        if (u > (uint64_t)INT64_MAX)
            return dsp_error_set(err, DSP_ERR_INVALID, "tool `%s`: %s is %llu (C type `%s`), above the largest "
                                 ".dsp int, %lld", t->name, what, (unsigned long long)u, sc->name,
                                 (long long)INT64_MAX);
        *out = dsp_value_int((int64_t)u);
        break;
    }
    }
    if (type && type->kind == IR_FLOAT && out->kind == DSP_TYPE_INT)
        *out = dsp_value_float((double)out->as.i);
    return DSP_OK;
}

/* libffi widens an integral result narrower than a register to ffi_arg;
 * this puts it back at the slot's start in its own width. */
static void narrow_result(const ch_scalar *sc, c_slot *s)
{
    if (sc->cls == CH_FLOATING || sc->size >= sizeof(ffi_arg))
        return;
    ffi_arg w = s->widened;
    memset(s, 0, sizeof *s);
    switch (sc->size) {
    case 1: s->u8 = (uint8_t)w; break;
    case 2: s->u16 = (uint16_t)w; break;
    default: s->u32 = (uint32_t)w; break;
    }
}

/* Everything one call passes and gets back, so every way out frees the
 * same things. Each array has one entry per C parameter (as many as the
 * prototype has: the generated code has no limit either). */
typedef struct tool_call {
    const ir_tool *t;
    ffi_type **types;
    c_slot *args;                       /* what is passed: a value or a pointer */
    c_slot *outs;                       /* what output pointers point at (zeroed) */
    void **ptrs;
    void **temps;                       /* C arrays built from list arguments; structs */
    size_t *lens;                       /* an input list's (or map's) length, for its LEN */
    const it_cstruct **cst;             /* a parameter's struct (records), else NULL */
    dsp_cmember *maps;                  /* a map parameter i: maps[2i] its keys, maps[2i+1] a value */
    const dsp_type **map_types;         /* a map parameter's type */
} tool_call;

/* Frees the call's arrays and the call (not what they point to). */
static void call_arrays_free(tool_call *c)
{
    free(c->maps);
    free(c->map_types);
    free(c->cst);
    free(c->types);
    free(c->args);
    free(c->outs);
    free(c->ptrs);
    free(c->temps);
    free(c->lens);
    free(c);
}

/* A zeroed call of t's parameters, or NULL when out of memory. */
static tool_call *call_new(const ir_tool *t)
{
    size_t n = t->n_params ? t->n_params : 1;
    tool_call *c = calloc(1, sizeof *c);
    if (!c)
        return NULL;
    c->t = t;
    c->types = calloc(n, sizeof *c->types);
    c->args = calloc(n, sizeof *c->args);
    c->outs = calloc(n, sizeof *c->outs);
    c->ptrs = calloc(n, sizeof *c->ptrs);
    c->temps = calloc(n, sizeof *c->temps);
    c->lens = calloc(n, sizeof *c->lens);
    c->cst = calloc(n, sizeof *c->cst);
    c->maps = calloc(2 * n, sizeof *c->maps);
    c->map_types = calloc(n, sizeof *c->map_types);
    if (c->types && c->args && c->outs && c->ptrs && c->temps && c->lens && c->cst && c->maps && c->map_types)
        return c;
    call_arrays_free(c);
    return NULL;
}

/* Frees the temporary arrays (what passed structs point to first) and
 * the call itself. */
static void call_free(tool_call *c)
{
    for (size_t i = 0; i < c->t->n_params; i++) {
        const ir_tool_param *p = &c->t->params[i];
        if (is_map(p) && p->role == IR_PARAM_IN && i + 1 < c->t->n_params) {
            /* The keys and values arrays dsp_cmap_in made. */
            dsp_cmap_release(&c->maps[2 * i], c->temps[i], c->temps[i + 1], c->lens[i], DSP_CSTRUCT_PASSED);
            c->temps[i] = c->temps[i + 1] = NULL;
            i++;
            continue;
        }
        if (c->cst[i] && c->temps[i] && p->role == IR_PARAM_IN && is_list(p))
            dsp_cstruct_array_free(c->cst[i]->cs, c->temps[i], c->lens[i], DSP_CSTRUCT_PASSED);
        else if (c->cst[i] && c->temps[i] && p->role == IR_PARAM_IN)
            dsp_cstruct_release(c->cst[i]->cs, c->temps[i], DSP_CSTRUCT_PASSED);
        if (!(c->cst[i] && p->role == IR_PARAM_IN && is_list(p)))
            free(c->temps[i]);
    }
    call_arrays_free(c);
}

/* A list argument as a temporary C array of its element type. */
static dsp_status pass_list(tool_call *c, size_t i, const dsp_value *arg, dsp_error *err)
{
    const ir_tool_param *p = &c->t->params[i];
    if (arg->kind != DSP_TYPE_LIST)
        return dsp_error_set(err, DSP_ERR_INVALID, "tool `%s`: internal: parameter `%s` is not a list", c->t->name,
                             p->name);
    size_t n = arg->as.list.len;
    c->lens[i] = n;
    if (is_string(p->type->elem)) {
        const char **a = calloc(n + 1, sizeof *a);
        if (!a)
            return dsp_error_set(err, DSP_ERR_NOMEM, "out of memory passing `%s` to tool `%s`", p->name, c->t->name);
        for (size_t k = 0; k < n; k++)
            a[k] = dsp_value_cstr(&arg->as.list.items[k]);
        c->temps[i] = a;
    } else {
        char buf[128];
        const char *ect = elem_of(p, buf, sizeof buf);
        const ch_scalar *sc = scalar_of(ect);
        if (!sc)
            return dsp_error_set(err, DSP_ERR_INVALID, "tool `%s`: parameter `%s` is a list of C type `%s`, which "
                                 "the interpreter cannot pass", c->t->name, p->name, ect);
        unsigned char *a = calloc(n + 1, sc->size);
        if (!a)
            return dsp_error_set(err, DSP_ERR_NOMEM, "out of memory passing `%s` to tool `%s`", p->name, c->t->name);
        c->temps[i] = a;
        for (size_t k = 0; k < n; k++) {
            char what[160];
            snprintf(what, sizeof what, "element %zu of parameter `%s`", k, p->name);
            c_slot s;
            dsp_status rc = to_c(c->t, what, sc, &arg->as.list.items[k], &s, err);
            if (rc != DSP_OK)
                return rc;
            memcpy(a + k * sc->size, &s, sc->size);
        }
    }
    c->args[i].p = c->temps[i];
    c->types[i] = &ffi_type_pointer;
    return DSP_OK;
}

/* The table dsp_cmap_in and dsp_cmap_out read for map parameter i: its
 * keys and one value (a scalar of its C type, a string, a struct). */
static dsp_status describe_map(tool_call *c, size_t i, arena *mem, dsp_error *err)
{
    const ir_tool_param *p = &c->t->params[i];
    dsp_cmember *km = &c->maps[2 * i], *vm = km + 1;
    const char *sized = NULL;
    km->name = p->name;
    km->kind = DSP_CM_MAP;
    vm->name = p->name;
    vm->kind = DSP_CM_MAP_VALUES;
    c->map_types[i] = irt_type(mem, p->type);
    if (i + 2 >= c->t->n_params || c->t->params[i + 1].role != IR_PARAM_VALUES ||
        !irt_celem_kind(p->elem_ctype, p->cstruct, &vm->elem, &sized))
        return dsp_error_set(err, DSP_ERR_INVALID, "tool `%s`: map `%s` has values of C type `%s`, which the "
                             "interpreter cannot pass", c->t->name, p->name, p->elem_ctype ? p->elem_ctype : "?");
    const ch_scalar *sc = vm->elem == DSP_CM_STRUCT || vm->elem == DSP_CM_STRING ? NULL : scalar_of(sized);
    vm->sub = c->cst[i] ? c->cst[i]->cs : NULL;
    vm->size = vm->sub ? vm->sub->size : vm->elem == DSP_CM_STRING ? sizeof(char *) : sc ? sc->size : 0;
    vm->ctype = sized;
    return DSP_OK;
}

/* Fills parameter i: an IN value from *arg, a LEN from the list before
 * it, an OUT as a pointer to a zeroed slot. Checks every C type the call
 * will read back before the call is made, so a refused type never leaves
 * the tool's allocations behind. */
static dsp_status pass_param(tool_call *c, size_t i, const dsp_value *arg, dsp_error *err)
{
    const ir_tool *t = c->t;
    const ir_tool_param *p = &t->params[i];
    char buf[128], what[160];
    snprintf(what, sizeof what, "parameter `%s`", p->name);
    c->ptrs[i] = &c->args[i];
    const it_cstruct *cs = c->cst[i];
    if (is_map(p) && p->role == IR_PARAM_IN) {
        /* `const char *const *x_keys, const T *x_values, size_t n_x`: two
         * arrays dsp_cmap_in makes; the values are the next parameter's. */
        c->types[i] = &ffi_type_pointer;
        dsp_status rc = dsp_cmap_in(&c->maps[2 * i], c->map_types[i], arg, &c->temps[i], &c->temps[i + 1],
                                    &c->lens[i], t->name, what, err);
        c->args[i].p = c->temps[i];
        return rc;
    }
    if (is_map(p) || p->role == IR_PARAM_VALUES) {
        /* `char ***x_keys, T **x_values`: pointers to our zeroed slots;
         * the values of a map passed in: the array made for its keys. */
        bool in = p->role == IR_PARAM_VALUES && i > 0 && t->params[i - 1].role == IR_PARAM_IN;
        c->args[i].p = in ? c->temps[i] : (void *)&c->outs[i];
        c->types[i] = &ffi_type_pointer;
        return DSP_OK;
    }
    if (cs && p->role == IR_PARAM_IN && is_list(p)) {
        /* `const T *xs, size_t n_xs`: an array of structs. */
        c->lens[i] = arg->kind == DSP_TYPE_LIST ? arg->as.list.len : 0;
        c->types[i] = &ffi_type_pointer;
        dsp_status rc = dsp_cstruct_array_in(cs->cs, arg, &c->temps[i], t->name, p->name, err);
        c->args[i].p = c->temps[i];
        return rc;
    }
    if (cs && p->role == IR_PARAM_IN && p->type->kind == IR_OPTIONAL) {
        /* `const T *a` marked optional: our struct, or NULL when absent. */
        c->temps[i] = calloc(1, cs->cs->size ? cs->cs->size : 1);
        if (!c->temps[i])
            return dsp_error_set(err, DSP_ERR_NOMEM, "out of memory passing `%s` to tool `%s`", p->name, t->name);
        bool present = false;
        dsp_status rc = dsp_cstruct_optional_in(cs->cs, arg, c->temps[i], &present, t->name, what, err);
        c->args[i].p = present ? c->temps[i] : NULL;
        c->types[i] = &ffi_type_pointer;
        return rc;
    }
    if (cs && p->role == IR_PARAM_IN) {
        /* `const T *a` or `T a`: one struct, passed by address or by value. */
        c->temps[i] = calloc(1, cs->cs->size ? cs->cs->size : 1);
        if (!c->temps[i])
            return dsp_error_set(err, DSP_ERR_NOMEM, "out of memory passing `%s` to tool `%s`", p->name, t->name);
        dsp_status rc = dsp_cstruct_in(cs->cs, arg, c->temps[i], t->name, what, err);
        if (strchr(p->ctype, '*')) {
            c->args[i].p = c->temps[i];
            c->types[i] = &ffi_type_pointer;
        } else {
            c->ptrs[i] = c->temps[i];
            c->types[i] = cs->ft;
        }
        return rc;
    }
    if (cs && p->role == IR_PARAM_OUT && p->type->kind == IR_RECORD) {
        /* `T *out`: the tool fills our zeroed struct. */
        c->temps[i] = calloc(1, cs->cs->size ? cs->cs->size : 1);
        if (!c->temps[i])
            return dsp_error_set(err, DSP_ERR_NOMEM, "out of memory calling tool `%s`", t->name);
        c->args[i].p = c->temps[i];
        c->types[i] = &ffi_type_pointer;
        return DSP_OK;
    }
    if (cs && p->role == IR_PARAM_OUT) {
        /* `T **out` (with or without a length): the tool mallocs. */
        c->args[i].p = &c->outs[i];
        c->types[i] = &ffi_type_pointer;
        return DSP_OK;
    }
    switch (p->role) {
    case IR_PARAM_IN: {
        if (is_list(p))
            return pass_list(c, i, arg, err);
        if (is_string(p->type)) {
            c->args[i].str = dsp_value_cstr(arg);
            c->types[i] = &ffi_type_pointer;
            return DSP_OK;
        }
        const ch_scalar *sc = scalar_of(p->ctype);
        if (!sc || !ffi_scalar(sc))
            break;
        c->types[i] = ffi_scalar(sc);
        return to_c(t, what, sc, arg, &c->args[i], err);
    }
    case IR_PARAM_LEN: {
        /* The list just before, or the map before its values. */
        size_t li = i > 1 && t->params[i - 1].role == IR_PARAM_VALUES ? i - 2 : i - 1;
        const ir_tool_param *list = i > 0 ? &t->params[li] : NULL;
        if (!list || !(is_list(list) || is_map(list)) || list->role == IR_PARAM_LEN)
            return dsp_error_set(err, DSP_ERR_INVALID, "tool `%s`: internal: length `%s` follows no list", t->name,
                                 p->name);
        const ch_scalar *sc = scalar_of(list->role == IR_PARAM_OUT ? strip_pointers(p->ctype, 1, buf, sizeof buf)
                                                                   : p->ctype);
        if (!sc || sc->cls == CH_FLOATING || sc->cls == CH_BOOLEAN || !ffi_scalar(sc))
            break;
        if (list->role == IR_PARAM_OUT) {
            c->args[i].p = &c->outs[i];
            c->types[i] = &ffi_type_pointer;
            return DSP_OK;
        }
        dsp_value n = dsp_value_int((int64_t)c->lens[li]);
        snprintf(what, sizeof what, "the length of `%s`", list->name);
        c->types[i] = ffi_scalar(sc);
        return to_c(t, what, sc, &n, &c->args[i], err);
    }
    case IR_PARAM_VALUES:
        break;
    case IR_PARAM_OUT: {
        const ir_type *vt = is_list(p) ? p->type->elem : p->type;
        if (!is_string(vt) && !scalar_of(elem_of(p, buf, sizeof buf)))
            return dsp_error_set(err, DSP_ERR_INVALID, "tool `%s`: output `%s` has C type `%s`, which the "
                                 "interpreter cannot read", t->name, p->name, p->ctype);
        c->args[i].p = &c->outs[i];
        c->types[i] = &ffi_type_pointer;
        return DSP_OK;
    }
    }
    return dsp_error_set(err, DSP_ERR_INVALID, "tool `%s`: parameter `%s` has C type `%s`, which the interpreter "
                         "cannot pass", t->name, p->name, p->ctype);
}

/* The array an output list points at, as a list value when `convert`;
 * freed either way (each string, then the array). */
static dsp_status take_list(tool_call *c, size_t i, bool convert, dsp_value *out, dsp_error *err)
{
    const ir_tool *t = c->t;
    const ir_tool_param *p = &t->params[i];
    void *arr = c->outs[i].p;
    const ir_tool_param *lp = i + 1 < t->n_params && t->params[i + 1].role == IR_PARAM_LEN ? &t->params[i + 1] : NULL;
    char buf[128];
    const ch_scalar *lsc = lp ? scalar_of(strip_pointers(lp->ctype, 1, buf, sizeof buf)) : NULL;
    uint64_t len = lsc ? read_unsigned(&c->outs[i + 1], lsc->size) : 0;
    if (lsc && lsc->cls == CH_SIGNED && read_signed(&c->outs[i + 1], lsc->size) < 0)
        len = 0;
    dsp_status rc = DSP_OK;
    if (convert && !lsc)
        rc = dsp_error_set(err, DSP_ERR_INVALID, "tool `%s`: internal: output list `%s` has no length", t->name,
                           p->name);
    else if (convert && !arr && len > 0)
        rc = dsp_error_set(err, DSP_ERR_INVALID, "tool `%s` left output `%s` NULL with length %llu", t->name,
                           p->name, (unsigned long long)len);
    if (!arr)
        len = 0;
    if (rc == DSP_OK && convert)
        *out = dsp_value_list();
    convert = convert && rc == DSP_OK;
    const ir_type *et = p->type->elem;
    if (is_string(et)) {
        char **a = arr;
        for (uint64_t k = 0; k < len; k++) {
            if (convert && !a[k]) {
                rc = dsp_error_set(err, DSP_ERR_INVALID, "tool `%s` left element %llu of output `%s` NULL",
                                   t->name, (unsigned long long)k, p->name);
                convert = false;
            }
            if (convert) {
                dsp_value s = { 0 };
                rc = dsp_value_set_string(&s, a[k], strlen(a[k]), err);
                if (rc == DSP_OK)
                    rc = dsp_value_list_append(out, &s, err);
                dsp_value_free(&s);
                convert = rc == DSP_OK;
            }
            free(a[k]);
        }
    } else if (convert) {
        const ch_scalar *sc = scalar_of(elem_of(p, buf, sizeof buf));
        for (uint64_t k = 0; k < len && rc == DSP_OK; k++) {
            c_slot s = { 0 };
            memcpy(&s, (const unsigned char *)arr + k * sc->size, sc->size);
            char what[160];
            snprintf(what, sizeof what, "element %llu of output `%s`", (unsigned long long)k, p->name);
            dsp_value v = { 0 };
            rc = from_c(t, what, sc, &s, et, &v, err);
            if (rc == DSP_OK)
                rc = dsp_value_list_append(out, &v, err);
        }
    }
    free(arr);
    if (rc != DSP_OK)
        dsp_value_free(out);
    return rc;
}

/* An output that is a struct: `T *out` filled in place, `T **out, size_t
 * *n_out` an array, `T **out` one struct or NULL (an optional); read into
 * *out when `convert`, and freed either way (the tool's non-const pointers). */
static dsp_status take_struct(tool_call *c, size_t i, bool convert, const char *what, dsp_value *out,
                              dsp_error *err)
{
    const ir_tool *t = c->t;
    const ir_tool_param *p = &t->params[i];
    const dsp_cstruct *cs = c->cst[i]->cs;
    dsp_status rc = DSP_OK;
    if (p->type->kind == IR_RECORD) {
        if (convert)
            rc = dsp_cstruct_out(cs, c->temps[i], out, t->name, what, err);
        dsp_cstruct_release(cs, c->temps[i], DSP_CSTRUCT_FROM_TOOL);
        return rc;
    }
    void *a = c->outs[i].p;
    if (is_list(p)) {
        size_t n = 0;
        if (i + 1 < t->n_params && t->params[i + 1].role == IR_PARAM_LEN)
            memcpy(&n, &c->outs[i + 1], sizeof n);
        if (convert)
            rc = dsp_cstruct_array_out(cs, a, n, out, t->name, what, err);
        dsp_cstruct_array_free(cs, a, a ? n : 0, DSP_CSTRUCT_FROM_TOOL);
        return rc;
    }
    if (convert)
        rc = dsp_cstruct_optional_out(cs, a, out, t->name, what, err);
    dsp_cstruct_array_free(cs, a, 1, DSP_CSTRUCT_FROM_TOOL);
    return rc;
}

/* Every output as a value (when `convert`) into outs[0..n_outputs),
 * freeing what the tool allocated whether or not it is converted. */
static dsp_status take_outputs(tool_call *c, bool convert, dsp_value *outs, dsp_error *err)
{
    const ir_tool *t = c->t;
    dsp_status rc = DSP_OK;
    size_t o = 0;
    for (size_t i = 0; i < t->n_params; i++) {
        const ir_tool_param *p = &t->params[i];
        if (p->role != IR_PARAM_OUT)
            continue;
        bool conv = convert && rc == DSP_OK && o < t->n_outputs;
        dsp_value *dst = o < t->n_outputs ? &outs[o] : NULL;
        o++;
        dsp_status r = DSP_OK;
        char what[160];
        snprintf(what, sizeof what, "output `%s`", p->name);
        if (is_map(p)) {
            /* `char ***x_keys, T **x_values, size_t *n_x`: the tool's arrays. */
            size_t n = 0;
            if (i + 2 < t->n_params)
                memcpy(&n, &c->outs[i + 2], sizeof n);
            if (conv)
                r = dsp_cmap_out(&c->maps[2 * i], c->map_types[i], c->outs[i].p, c->outs[i + 1].p, n, dst, t->name,
                                 what, err);
            dsp_cmap_release(&c->maps[2 * i], c->outs[i].p, c->outs[i + 1].p, n, DSP_CSTRUCT_FROM_TOOL);
        } else if (c->cst[i]) {
            r = take_struct(c, i, conv, what, dst, err);
        } else if (is_list(p)) {
            r = take_list(c, i, conv, dst, err);
        } else if (is_string(p->type)) {
            char *s = c->outs[i].p;
            if (conv && !s)
                r = dsp_error_set(err, DSP_ERR_INVALID, "tool `%s` left output `%s` NULL", t->name, p->name);
            else if (conv)
                r = dsp_value_set_string(dst, s, strlen(s), err);
            free(s);
        } else if (conv) {
            char buf[128];
            r = from_c(t, what, scalar_of(elem_of(p, buf, sizeof buf)), &c->outs[i], p->type, dst, err);
        }
        if (conv)
            rc = r;
    }
    if (convert && rc == DSP_OK && o != t->n_outputs)
        rc = dsp_error_set(err, DSP_ERR_INVALID, "tool `%s`: internal: %zu output parameters for %zu outputs",
                           t->name, o, t->n_outputs);
    return rc;
}

/* The single return value of a tool without outputs. */
static dsp_status take_return(const ir_tool *t, const ch_scalar *rsc, c_slot *result, dsp_value *out, dsp_error *err)
{
    if (!rsc) {
        /* A char * result is the tool's malloc'ed string: free it here. */
        char *str = result->p;
        if (!str)
            return dsp_error_set(err, DSP_ERR_INVALID, "tool `%s` returned NULL", t->name);
        dsp_status rc = dsp_value_set_string(out, str, strlen(str), err);
        if (strcmp(t->c_return, "char *") == 0)
            free(str);
        return rc;
    }
    narrow_result(rsc, result);
    return from_c(t, "its result", rsc, result, t->type, out, err);
}

static void *tool_symbol(const ex_runner *r, const ir_tool *tool, dsp_error *err)
{
    const char *base = r->prog->base_dir;
    char path[4096];
    /* dlopen searches the library path for a name without a slash; a
     * tool's library is a file relative to the .dsp directory. */
    int n;
    if (tool->library[0] == '/')
        n = snprintf(path, sizeof path, "%s", tool->library);
    else
        n = snprintf(path, sizeof path, "%s/%s", base && base[0] ? base : ".", tool->library);
    if (n < 0 || (size_t)n >= sizeof path) {
        dsp_error_set(err, DSP_ERR_INVALID, "tool `%s`: the library path is too long", tool->name);
        return NULL;
    }
    void *h = open_library((it_tools *)&r->tools, path, tool->name, err);
    if (!h)
        return NULL;
    dlerror();
    void *sym = dlsym(h, tool->name);
    if (!sym)
        dsp_error_set(err, DSP_ERR_INVALID, "tool `%s`: library `%s` has no symbol `%s`", tool->name, path,
                      tool->name);
    return sym;
}

size_t it_tool_n_args(const ir_tool *tool)
{
    size_t n = 0;
    for (size_t i = 0; i < tool->n_params; i++)
        n += tool->params[i].role == IR_PARAM_IN;
    return n;
}

size_t it_tool_n_results(const ir_tool *tool)
{
    return tool->n_outputs ? tool->n_outputs : 1;
}

dsp_status it_tool_call(const ex_runner *r, const ir_tool *tool, const dsp_value *args, dsp_value *outs,
                        dsp_error *err)
{
    size_t n_res = it_tool_n_results(tool);
    memset(outs, 0, n_res * sizeof *outs);
    if (tool->n_params > UINT_MAX)
        return dsp_error_set(err, DSP_ERR_INVALID, "tool `%s` takes %zu parameters; libffi passes at most %u",
                             tool->name, tool->n_params, UINT_MAX);
    void *sym = tool_symbol(r, tool, err);
    if (!sym)
        return err ? err->status : DSP_ERR_INVALID;
    /* The structs it takes or gives, laid out for this call. */
    arena mem;
    arena_init(&mem);
    it_cstructs lay;
    memset(&lay, 0, sizeof lay);
    lay.a = &mem;
    const it_cstruct *ret_cs = NULL;
    dsp_status rc = tool->ret_cstruct ? it_cstruct_layout(&lay, tool->ret_cstruct, &ret_cs, err) : DSP_OK;
    /* The return: a status, nothing, a string, a struct (ret_cs), or a scalar (rsc). */
    bool is_void = strcmp(tool->c_return, "void") == 0;
    bool ret_str = !is_void && !tool->ret_status && tool->n_outputs == 0 && is_string(tool->type);
    const ch_scalar *rsc = is_void || ret_str || ret_cs ? NULL : scalar_of(tool->c_return);
    ffi_type *rtype = is_void ? &ffi_type_void : ret_str ? &ffi_type_pointer : ret_cs ? ret_cs->ft
                    : rsc ? ffi_scalar(rsc) : NULL;
    if (rc == DSP_OK && (!rtype || (tool->ret_status && (!rsc || rsc->cls != CH_SIGNED)) ||
                         (tool->n_outputs > 0 && !tool->ret_status && !is_void)))
        rc = dsp_error_set(err, DSP_ERR_INVALID, "tool `%s` returns C type `%s`, which the interpreter cannot "
                           "read", tool->name, tool->c_return);
    tool_call *c = rc == DSP_OK ? call_new(tool) : NULL;
    if (rc == DSP_OK && !c)
        rc = dsp_error_set(err, DSP_ERR_NOMEM, "out of memory calling tool `%s`", tool->name);
    for (size_t i = 0; c && i < tool->n_params && rc == DSP_OK; i++)
        if (tool->params[i].cstruct)
            rc = it_cstruct_layout(&lay, tool->params[i].cstruct, &c->cst[i], err);
    for (size_t i = 0; c && i < tool->n_params && rc == DSP_OK; i++)
        if (is_map(&tool->params[i]))
            rc = describe_map(c, i, &mem, err);
    if (!c) {
        arena_free(&mem);
        return rc;
    }
    size_t a = 0;
    for (size_t i = 0; i < tool->n_params && rc == DSP_OK; i++)
        rc = pass_param(c, i, tool->params[i].role == IR_PARAM_IN ? &args[a++] : NULL, err);
    ffi_cif cif;
    if (rc == DSP_OK && ffi_prep_cif(&cif, FFI_DEFAULT_ABI, (unsigned)tool->n_params, rtype, c->types) != FFI_OK)
        rc = dsp_error_set(err, DSP_ERR_INVALID, "tool `%s`: libffi cannot describe its signature", tool->name);
    /* A struct result is written to memory of its size (at least a
     * register's, as libffi asks of any result). */
    void *rbuf = NULL;
    if (rc == DSP_OK && ret_cs) {
        rbuf = calloc(1, ret_cs->cs->size + sizeof(c_slot));
        if (!rbuf)
            rc = dsp_error_set(err, DSP_ERR_NOMEM, "out of memory calling tool `%s`", tool->name);
    }
    if (rc == DSP_OK) {
        c_slot result;
        memset(&result, 0, sizeof result);
        ffi_call(&cif, FFI_FN(sym), rbuf ? rbuf : (void *)&result, c->ptrs);
        int64_t status = 0;
        if (tool->ret_status) {
            narrow_result(rsc, &result);
            status = read_signed(&result, rsc->size);
        }
        /* The outputs are freed even when the status says they are not to be read. */
        dsp_status orc = take_outputs(c, status == 0, outs, err);
        if (status != 0)
            rc = dsp_error_set(err, DSP_ERR_INVALID, "tool `%s` failed with status %lld", tool->name,
                               (long long)status);
        else
            rc = orc;
        if (ret_cs) {
            if (rc == DSP_OK)
                rc = dsp_cstruct_out(ret_cs->cs, rbuf, &outs[0], tool->name, "its result", err);
            dsp_cstruct_release(ret_cs->cs, rbuf, DSP_CSTRUCT_FROM_TOOL);
        } else if (rc == DSP_OK && tool->n_outputs == 0 && !is_void) {
            rc = take_return(tool, rsc, &result, &outs[0], err);
        }
    }
    free(rbuf);
    call_free(c);
    arena_free(&mem);
    if (rc != DSP_OK)
        dsp_values_free(outs, n_res);
    return rc;
}
