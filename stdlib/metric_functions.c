/* metric_functions.c — the functions a metric expression may call. Their
 * exact semantics (normalization, tokenization) are documented in
 * docs/language.md and implemented by the runtime's metric evaluator. */
#include "builtins.h"

#include <string.h>

const bi_function bi_functions[] = {
    { "exact_match", 2, { BI_ANY, BI_ANY }, BI_RESULT_BOOL,
      "equal, ignoring case and surrounding white space for text" },
    { "contains", 2, { BI_TEXTS, BI_TEXT }, BI_RESULT_BOOL,
      "the text contains the needle (case-insensitive), or the list has it" },
    { "f1", 2, { BI_TEXTS, BI_TEXTS }, BI_RESULT_NUMBER,
      "token-level F1 between prediction and gold (SQuAD normalization)" },
    { "approx", 3, { BI_NUMBER, BI_NUMBER, BI_NUMBER }, BI_RESULT_BOOL,
      "|a - b| <= tolerance" },
    { "abs", 1, { BI_NUMBER }, BI_RESULT_NUMBER, "absolute value" },
    { "min", 2, { BI_NUMBER, BI_NUMBER }, BI_RESULT_NUMBER, "the smaller number" },
    { "max", 2, { BI_NUMBER, BI_NUMBER }, BI_RESULT_NUMBER, "the larger number" },
    { "len", 1, { BI_SIZED }, BI_RESULT_NUMBER, "characters of a text, items of a list or map" },
    { "set_f1", 2, { BI_LIST, BI_LIST }, BI_RESULT_NUMBER,
      "F1 of two lists as sets of items (records match on all fields, or on `by:`)" },
    { "set_precision", 2, { BI_LIST, BI_LIST }, BI_RESULT_NUMBER,
      "share of the predicted items that match a gold item" },
    { "set_recall", 2, { BI_LIST, BI_LIST }, BI_RESULT_NUMBER, "share of the gold items that a predicted item matches" },
};
const size_t bi_n_functions = sizeof bi_functions / sizeof bi_functions[0];

const bi_function *bi_function_find(const char *name)
{
    for (size_t i = 0; i < bi_n_functions; i++)
        if (strcmp(bi_functions[i].name, name) == 0)
            return &bi_functions[i];
    return NULL;
}
