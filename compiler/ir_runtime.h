/* ir_runtime.h — the checked IR as libdsprt descriptors: types, signatures,
 * predictors and lm configs, built in an arena so they live exactly as long
 * as the interpreter that uses them. Internal to the interpreter. */
#ifndef DSPCC_IR_RUNTIME_H
#define DSPCC_IR_RUNTIME_H

#include "arena.h"
#include "ir.h"
#include "dsp/client.h"
#include "dsp/cstruct.h"
#include "dsp/error.h"
#include "dsp/signature.h"

/* The runtime type of an IR type. Enum value names are shared, not copied. */
const dsp_type *irt_type(arena *a, const ir_type *t);
const dsp_field *irt_fields(arena *a, const ir_field *fs, size_t n);
const dsp_signature *irt_signature(arena *a, const ir_signature *s);
/* A predictor without demos, running on lm (may be NULL). Fails for an
 * unknown strategy. */
dsp_status irt_predictor(arena *a, const ir_predictor *p, const dsp_lm_config *lm, dsp_predictor **out,
                         dsp_error *err);
/* "provider/model" with every option of the lm block: base URL, key
 * variable, sampling (temperature, top_p, max_tokens) and the call's
 * limits (timeout_ms, retries, cache). A provider the runtime does not know
 * is an error. */
dsp_status irt_lm(arena *a, const ir_lm *lm, dsp_lm_config **out, dsp_error *err);

/* A string option of lm ("trainer", "lora_serving"), or NULL. */
const char *irt_lm_str(const ir_lm *lm, const char *key);
/* Whether lm's server selects adapters as llama.cpp's does (lora_serving: "llama.cpp"). */
int irt_lm_llama_cpp(const ir_lm *lm);
/* base, lm's config, running with the LoRA adapter name (SHA-256 sha256):
 * for vLLM (the default) the model is "provider/name"; for llama.cpp each
 * request carries lora [{id: lm's lora_id, scale: 1}]. Allocated in a. */
const dsp_lm_config *irt_lm_with_adapter(arena *a, const ir_lm *lm, const dsp_lm_config *base, const char *name,
                                         const char *sha256);

/* The kind of one element of a list or one value of a map whose C type is
 * elem_ctype ("double", "const char *"), or whose struct is sub, and the C
 * type whose sizeof is its size. 0 when it has none. */
int irt_celem_kind(const char *elem_ctype, const ir_cstruct *sub, dsp_cm_kind *elem, const char **sized);

/* How libdsprt converts member m of a tool's C struct ic (dsp/cstruct.h):
 * its kind, a list's element kind, and the C type whose sizeof is its
 * size (a scalar; a list's element: "double", "char *", "struct city";
 * NULL for a string, a struct, a pointer to one and a count). The
 * interpreter (offsets from libffi) and the generated C (offsetof) lay
 * members out by this one rule. 0 when m has no such kind. */
int irt_cmember_kind(const ir_cstruct *ic, const ir_cmember *m, dsp_cm_kind *kind, dsp_cm_kind *elem,
                     const char **sized);

#endif
