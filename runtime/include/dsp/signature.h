/* dsp/signature.h — what a predictor is: typed fields, a signature, demos,
 * a strategy and an LM.
 *
 * Every struct here is plain data with const pointers and counts, so the C
 * backend can emit a whole predictor as `static const` tables and no
 * constructor runs at start-up. Strings are borrowed and must outlive every
 * call that uses the descriptor.
 *
 *     static const char *const k_queues[] = { "billing", "account", "orders", "general" };
 *     static const dsp_type k_queue = { .kind = DSP_TYPE_ENUM, .enum_values = k_queues, .n_enum_values = 4 };
 *     static const dsp_field k_in[] = { { "ticket_text", &dsp_type_string, "Raw text of the ticket" } };
 *     static const dsp_field k_out[] = { { "category", &k_queue, "One of the four queues" } };
 *     static const dsp_signature k_sig = { "ClassifyTicket", "Classify a customer support ticket.",
 *                                          k_in, 1, k_out, 1 };
 */
#ifndef DSP_SIGNATURE_H
#define DSP_SIGNATURE_H

#include <stdbool.h>
#include <stddef.h>

#include "dsp/client.h"
#include "dsp/error.h"

#ifdef __cplusplus
extern "C" {
#endif

typedef enum dsp_type_kind {
    DSP_TYPE_STRING = 0, /* any bytes */
    DSP_TYPE_INT,        /* int64_t */
    DSP_TYPE_FLOAT,      /* double, finite */
    DSP_TYPE_BOOL,
    DSP_TYPE_ENUM,       /* an index into enum_values */
    DSP_TYPE_LIST,       /* of elem */
    DSP_TYPE_OPTIONAL,   /* elem, or absent */
    DSP_TYPE_RECORD,     /* named fields, a JSON object in prompts and replies */
    DSP_TYPE_MAP         /* string keys to values of elem, a JSON object */
} dsp_type_kind;

struct dsp_field;

/* Initialise with designated initializers; members may be added at the end. */
typedef struct dsp_type {
    dsp_type_kind kind;
    const char *const *enum_values; /* DSP_TYPE_ENUM: the value names, in order */
    size_t n_enum_values;
    const struct dsp_type *elem;    /* DSP_TYPE_LIST and DSP_TYPE_OPTIONAL; DSP_TYPE_MAP: values */
    const struct dsp_field *fields; /* DSP_TYPE_RECORD: in order; an optional one may be absent */
    size_t n_fields;
    const char *name;               /* DSP_TYPE_RECORD (required) and DSP_TYPE_ENUM (may be
                                       NULL): the .dsp name, for schemas and messages */
} dsp_type;

/* Ready-made scalar types, for tables and tests. */
extern const dsp_type dsp_type_string;
extern const dsp_type dsp_type_int;
extern const dsp_type dsp_type_float;
extern const dsp_type dsp_type_bool;

typedef struct dsp_field {
    const char *name;        /* [A-Za-z0-9_]+, unique within its signature */
    const dsp_type *type;
    const char *description; /* NULL or "": none */
} dsp_field;

typedef struct dsp_signature {
    const char *name;         /* for messages only */
    const char *instructions; /* NULL or "": "Given the fields ..., produce the fields ..." */
    const dsp_field *inputs;
    size_t n_inputs;
    const dsp_field *outputs;
    size_t n_outputs;
} dsp_signature;

typedef enum dsp_strategy {
    DSP_STRATEGY_PREDICT = 0,
    DSP_STRATEGY_CHAIN_OF_THOUGHT /* adds a `reasoning` string output in front */
} dsp_strategy;

/* One few-shot example, as the exact text the chat adapter writes inside each
 * `[[ ## field ## ]]` block (what dsp_value_format produces), so demos can be
 * baked as string tables. input_texts has one entry per signature input;
 * output_texts one per predictor output (for chain of thought, entry 0 is the
 * reasoning). A NULL entry leaves that field out of the demo, as DSPy does
 * for partial demos. */
typedef struct dsp_demo {
    const char *const *input_texts;
    const char *const *output_texts;
} dsp_demo;

typedef struct dsp_predictor {
    const char *name;               /* for messages and traces */
    const dsp_signature *signature;
    dsp_strategy strategy;
    const dsp_demo *demos;
    size_t n_demos;
    const dsp_lm_config *lm;        /* may be NULL if every call passes one in dsp_predict_options */
} dsp_predictor;

/* The `reasoning` output that chain of thought puts in front. */
extern const dsp_field dsp_reasoning_field;

/* The outputs a predictor produces: the signature's, preceded by
 * `reasoning` for chain of thought. */
size_t dsp_strategy_n_outputs(const dsp_signature *sig, dsp_strategy strategy);
const dsp_field *dsp_strategy_output(const dsp_signature *sig, dsp_strategy strategy, size_t i);

/* The name a type goes by in prompts and messages: "string", "int", "float",
 * "bool", "enum", "list[string]", "optional[int]", "dict[str, int]", a
 * record's name (written into buf). */
const char *dsp_type_name(const dsp_type *t, char *buf, size_t size);

/* Checks that a type is well formed (enums have distinct non-empty names,
 * lists and optionals have an element type, no optional of optional,
 * records have a name and distinct valid field names, at most 16 levels). */
dsp_status dsp_type_check(const dsp_type *t, dsp_error *err);

/* Checks a signature for a strategy: field names are valid and unique, types
 * are well formed, and chain of thought does not clash with `reasoning`. */
dsp_status dsp_signature_check(const dsp_signature *sig, dsp_strategy strategy, dsp_error *err);

#ifdef __cplusplus
}
#endif
#endif
