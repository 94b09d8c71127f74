/* value_json.h — dsp_value <-> cJSON trees (internal to libdsprt; the public
 * API speaks JSON text so generated code needs no cJSON headers). */
#ifndef DSP_VALUE_JSON_H
#define DSP_VALUE_JSON_H

#include <cjson/cJSON.h>

#include "dsp/value.h"

/* A new cJSON tree for v (checked against t first); NULL on failure, with err set. */
cJSON *dsp_value_to_cjson(const dsp_value *v, const dsp_type *t, dsp_error *err);

/* Converts a parsed JSON item into a value of type t. Lenient where an LM
 * plausibly writes the right value in the wrong JSON shape: a number or bool
 * for a string field becomes its JSON text, and a JSON string for a
 * non-string field is parsed with the text rules of dsp_value_parse. */
dsp_status dsp_value_from_cjson(const dsp_type *t, const cJSON *item, dsp_value *out, dsp_error *err);

/* dsp_value_parse for a type that has passed dsp_type_check (a field of a
 * signature checked before, as dsp_predict's are when it renders the
 * prompt): the type is not walked again on every reply. */
dsp_status dsp_value_parse_checked(const dsp_type *t, const char *text, size_t len, dsp_value *out, dsp_error *err);

/* Shortest "%.*g" text of a finite double that reads back exactly. */
void dsp_format_double(double d, char *buf, size_t size);

/* The JSON schema of a type, e.g. {"type":"array","items":{"type":"string"}};
 * NULL when out of memory. The type must have passed dsp_type_check. */
cJSON *dsp_type_schema_cjson(const dsp_type *t);

#endif
