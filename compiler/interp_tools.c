/* interp_tools.c — calling external C tools from the interpreter: the
 * shared object is opened with dlopen once per runner (handles cached under
 * a lock, so concurrent examples share them), the symbol found with dlsym,
 * and the call made through libffi, because a tool's C signature is only
 * known at run time. */
#include "interp_int.h"

#include <dlfcn.h>
#include <stdio.h>
#include <ffi.h>
#include <stdlib.h>
#include <string.h>

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
    if (!h) {
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

/* One argument or result slot, as C sees it. */
typedef union c_slot {
    const char *str;
    int i;
    long l;
    long long ll;
    int64_t i64;
    int32_t i32;
    double d;
    float f;
    bool b;
    ffi_arg widened;            /* an integral result narrower than a register */
} c_slot;

typedef enum c_kind { CK_STR, CK_INT, CK_LONG, CK_LLONG, CK_I64, CK_I32, CK_DOUBLE, CK_FLOAT, CK_BOOL, CK_BAD } c_kind;

static c_kind kind_of(const char *ctype)
{
    static const struct { const char *name; c_kind k; } map[] = {
        { "const char *", CK_STR }, { "char const *", CK_STR }, { "char *", CK_STR },
        { "int", CK_INT }, { "long", CK_LONG }, { "long long", CK_LLONG }, { "int64_t", CK_I64 },
        { "int32_t", CK_I32 }, { "double", CK_DOUBLE }, { "float", CK_FLOAT },
        { "bool", CK_BOOL }, { "_Bool", CK_BOOL },
    };
    for (size_t i = 0; i < sizeof map / sizeof map[0]; i++)
        if (strcmp(map[i].name, ctype) == 0)
            return map[i].k;
    return CK_BAD;
}

static ffi_type *ffi_of(c_kind k)
{
    switch (k) {
    case CK_STR: return &ffi_type_pointer;
    case CK_INT: return &ffi_type_sint;
    case CK_LONG: return &ffi_type_slong;
    case CK_LLONG: return &ffi_type_sint64;
    case CK_I64: return &ffi_type_sint64;
    case CK_I32: return &ffi_type_sint32;
    case CK_DOUBLE: return &ffi_type_double;
    case CK_FLOAT: return &ffi_type_float;
    case CK_BOOL: return &ffi_type_uint8;
    default: return NULL;
    }
}

static double num_of(const dsp_value *v)
{
    switch (v->kind) {
    case DSP_TYPE_INT: return (double)v->as.i;
    case DSP_TYPE_FLOAT: return v->as.f;
    case DSP_TYPE_BOOL: return v->as.b ? 1 : 0;
    default: return 0;
    }
}

static void to_slot(c_kind k, const dsp_value *v, c_slot *s)
{
    memset(s, 0, sizeof *s);
    int64_t i = v->kind == DSP_TYPE_INT ? v->as.i : (int64_t)num_of(v);
    switch (k) {
    case CK_STR: s->str = v->as.s.data ? v->as.s.data : ""; break;
    case CK_INT: s->i = (int)i; break;
    case CK_LONG: s->l = (long)i; break;
    case CK_LLONG: s->ll = (long long)i; break;
    case CK_I64: s->i64 = i; break;
    case CK_I32: s->i32 = (int32_t)i; break;
    case CK_DOUBLE: s->d = num_of(v); break;
    case CK_FLOAT: s->f = (float)num_of(v); break;
    case CK_BOOL: s->b = v->kind == DSP_TYPE_BOOL ? v->as.b : i != 0; break;
    default: break;
    }
}

static dsp_status from_slot(c_kind k, const ir_type *t, const c_slot *s, const char *tool, bool owned,
                            dsp_value *out, dsp_error *err)
{
    switch (k) {
    case CK_STR: {
        /* A char * result is the tool's malloc'ed string: free it here. */
        char *str = (char *)s->str;
        if (!str)
            return dsp_error_set(err, DSP_ERR_INVALID, "tool `%s` returned NULL", tool);
        dsp_status rc = dsp_value_set_string(out, str, strlen(str), err);
        if (owned)
            free(str);
        return rc;
    }
    case CK_DOUBLE: *out = dsp_value_float(s->d); break;
    case CK_FLOAT: *out = dsp_value_float((double)(float)s->d); break;
    case CK_BOOL: *out = dsp_value_bool((uint8_t)s->widened != 0); break;
    case CK_INT: case CK_I32: *out = dsp_value_int((int32_t)s->widened); break;
    case CK_LONG: *out = dsp_value_int((int64_t)(long)s->widened); break;
    default: *out = dsp_value_int((int64_t)s->widened); break;
    }
    if (t->kind == IR_FLOAT && out->kind == DSP_TYPE_INT)
        *out = dsp_value_float((double)out->as.i);
    return DSP_OK;
}

#define IT_MAX_TOOL_ARGS 16

dsp_status it_tool_call(const ex_runner *r, const ir_tool *tool, const dsp_value *args, dsp_value *out,
                        dsp_error *err)
{
    memset(out, 0, sizeof *out);
    if (tool->n_params > IT_MAX_TOOL_ARGS)
        return dsp_error_set(err, DSP_ERR_INVALID, "tool `%s` takes %zu parameters; the interpreter passes at most %d",
                             tool->name, tool->n_params, IT_MAX_TOOL_ARGS);
    const char *base = r->prog->base_dir;
    char path[4096];
    /* dlopen searches the library path for a name without a slash; a
     * tool's library is a file relative to the .dsp directory. */
    int n;
    if (tool->library[0] == '/')
        n = snprintf(path, sizeof path, "%s", tool->library);
    else
        n = snprintf(path, sizeof path, "%s/%s", base && base[0] ? base : ".", tool->library);
    if (n < 0 || (size_t)n >= sizeof path)
        return dsp_error_set(err, DSP_ERR_INVALID, "tool `%s`: the library path is too long", tool->name);
    void *h = open_library((it_tools *)&r->tools, path, tool->name, err);
    if (!h)
        return err ? err->status : DSP_ERR_INVALID;
    dlerror();
    void *sym = dlsym(h, tool->name);
    if (!sym)
        return dsp_error_set(err, DSP_ERR_INVALID, "tool `%s`: library `%s` has no symbol `%s`", tool->name, path,
                             tool->name);
    ffi_type *types[IT_MAX_TOOL_ARGS + 1];
    c_slot slots[IT_MAX_TOOL_ARGS + 1];
    void *ptrs[IT_MAX_TOOL_ARGS + 1];
    for (size_t i = 0; i < tool->n_params; i++) {
        c_kind k = kind_of(tool->params[i].ctype);
        if (k == CK_BAD)
            return dsp_error_set(err, DSP_ERR_INVALID, "tool `%s`: parameter `%s` has C type `%s`, which the "
                                 "interpreter cannot pass", tool->name, tool->params[i].name, tool->params[i].ctype);
        types[i] = ffi_of(k);
        to_slot(k, &args[i], &slots[i]);
        ptrs[i] = &slots[i];
    }
    c_kind rk = kind_of(tool->c_return);
    if (rk == CK_BAD)
        return dsp_error_set(err, DSP_ERR_INVALID, "tool `%s` returns C type `%s`, which the interpreter cannot "
                             "read", tool->name, tool->c_return);
    ffi_cif cif;
    if (ffi_prep_cif(&cif, FFI_DEFAULT_ABI, (unsigned)tool->n_params, ffi_of(rk), types) != FFI_OK)
        return dsp_error_set(err, DSP_ERR_INVALID, "tool `%s`: libffi cannot describe its signature", tool->name);
    c_slot result;
    memset(&result, 0, sizeof result);
    ffi_call(&cif, FFI_FN(sym), &result, ptrs);
    if (rk == CK_FLOAT)
        result.d = (double)result.f;
    bool owned = rk == CK_STR && strcmp(tool->c_return, "char *") == 0;
    return from_slot(rk, tool->type, &result, tool->name, owned, out, err);
}
