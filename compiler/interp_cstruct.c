/* interp_cstruct.c — a tool's C struct laid out at run time: libffi
 * computes each member's offset from the C types the header gave (the
 * same ABI rules the C compiler follows), and the result is the
 * dsp_cstruct table a generated program holds as static data, so the
 * interpreter converts through the same libdsprt functions
 * (dsp/cstruct.h, docs/c-headers.md). */
#include "interp_int.h"

#include <string.h>

#include "cheader.h"
#include "ir_runtime.h"

static ffi_type *ffi_of_scalar(const ch_scalar *sc)
{
    if (sc->cls == CH_FLOATING)
        return sc->size == sizeof(float) ? &ffi_type_float : &ffi_type_double;
    bool sign = sc->cls == CH_SIGNED;
    switch (sc->size) {
    case 1: return sign ? &ffi_type_sint8 : &ffi_type_uint8;
    case 2: return sign ? &ffi_type_sint16 : &ffi_type_uint16;
    case 4: return sign ? &ffi_type_sint32 : &ffi_type_uint32;
    default: return sign ? &ffi_type_sint64 : &ffi_type_uint64;
    }
}



static dsp_status lay_out(it_cstructs *x, const ir_cstruct *ic, const it_cstruct **out, dsp_error *err);

static dsp_status bad_member(const ir_cstruct *ic, const ir_cmember *m, dsp_error *err)
{
    return dsp_error_set(err, DSP_ERR_INVALID, "internal: member `%s` of `%s` (C type `%s`) cannot be laid out",
                         m->name, ic->c_name, m->ctype);
}

static dsp_status lay_out(it_cstructs *x, const ir_cstruct *ic, const it_cstruct **out, dsp_error *err)
{
    for (size_t i = 0; i < x->n; i++)
        if (x->from[i] == ic) {
            *out = &x->built[i];
            return DSP_OK;
        }
    if (x->n == IT_MAX_CSTRUCTS)
        return dsp_error_set(err, DSP_ERR_INVALID, "a tool reaches more than %d C structs", IT_MAX_CSTRUCTS);
    size_t n = ic->n_members;
    dsp_cmember *ms = arena_array(x->a, n + 1, sizeof *ms);
    ffi_type **elems = arena_array(x->a, n + 1, sizeof *elems);
    const it_cstruct **subs = arena_array(x->a, n + 1, sizeof *subs);
    for (size_t i = 0; i < n; i++) {
        const ir_cmember *m = &ic->members[i];
        dsp_cmember *d = &ms[i];
        d->name = m->name;
        d->borrowed = m->borrowed;
        d->elem_borrowed = m->elem_borrowed;
        d->field = m->field < 0 ? 0 : (size_t)m->field;
        const char *sized;
        if (!irt_cmember_kind(ic, m, &d->kind, &d->elem, &sized))
            return bad_member(ic, m, err);
        if (m->sub) {
            dsp_status st = lay_out(x, m->sub, &subs[i], err);
            if (st != DSP_OK)
                return st;
            d->sub = subs[i]->cs;
        }
        const ch_scalar *sc = sized ? ch_scalar_find(sized) : NULL;
        switch (d->kind) {
        case DSP_CM_COUNT:
            elems[i] = ffi_of_scalar(ch_scalar_find("size_t"));
            break;
        case DSP_CM_PRESENT:
            elems[i] = ffi_of_scalar(ch_scalar_find("bool"));
            break;
        case DSP_CM_STRUCT:
            elems[i] = subs[i]->ft;
            break;
        case DSP_CM_STRING:
        case DSP_CM_STRUCT_PTR:
        case DSP_CM_MAP:
            elems[i] = &ffi_type_pointer;
            break;
        case DSP_CM_LIST:
        case DSP_CM_MAP_VALUES:
            elems[i] = &ffi_type_pointer;
            d->size = d->elem == DSP_CM_STRUCT ? d->sub->size : d->elem == DSP_CM_STRING ? sizeof(char *)
                    : sc ? sc->size : 0;
            d->ctype = sized;
            break;
        default:
            if (!sc)
                return bad_member(ic, m, err);
            elems[i] = ffi_of_scalar(sc);
            d->size = sc->size;
            d->ctype = sized;
            break;
        }
    }
    ffi_type *ft = arena_alloc(x->a, sizeof *ft);
    ft->type = FFI_TYPE_STRUCT;
    ft->elements = elems;
    size_t *offsets = arena_array(x->a, n + 1, sizeof *offsets);
    if (ffi_get_struct_offsets(FFI_DEFAULT_ABI, ft, offsets) != FFI_OK)
        return dsp_error_set(err, DSP_ERR_INVALID, "libffi cannot lay out `%s`", ic->c_name);
    for (size_t i = 0; i < n; i++)
        ms[i].offset = offsets[i];
    for (size_t i = 0; i < n; i++) {
        if (ms[i].kind == DSP_CM_LIST && i + 1 < n)
            ms[i].count_offset = offsets[i + 1];
        if (ms[i].kind == DSP_CM_MAP && i + 2 < n)
            ms[i].count_offset = offsets[i + 2]; /* after its values */
        if (i > 0 && ms[i - 1].kind == DSP_CM_PRESENT)
            ms[i].count_offset = offsets[i - 1]; /* an optional scalar's flag */
    }
    dsp_cstruct *cs = arena_alloc(x->a, sizeof *cs);
    cs->name = ic->c_name;
    cs->size = ft->size;
    cs->type = irt_type(x->a, ic->record);
    cs->members = ms;
    cs->n_members = n;
    x->from[x->n] = ic;
    x->built[x->n].cs = cs;
    x->built[x->n].ft = ft;
    *out = &x->built[x->n++];
    return DSP_OK;
}

dsp_status it_cstruct_layout(it_cstructs *x, const ir_cstruct *ic, const it_cstruct **out, dsp_error *err)
{
    return lay_out(x, ic, out, err);
}
