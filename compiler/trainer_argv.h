/* trainer_argv.h — a local LoRA trainer's command template (the lm option
 * `trainer`) as the argv it runs with.
 *
 * The template is split into words first (spaces, tabs and newlines
 * separate words; '...' and "..." group them; a backslash outside quotes
 * takes the next character as it is), then the placeholders {data},
 * {base_model}, {output}, {epochs} and {seed} are replaced inside each
 * word. A value is never split again and never reaches a shell, so a path
 * with spaces or a `;` stays one argument. sema checks a template with
 * dummy values; opt_finetune_local.c runs it.
 */
#ifndef DSPCC_TRAINER_ARGV_H
#define DSPCC_TRAINER_ARGV_H

#include "arena.h"

#define TRAINER_WHY_MAX 512

typedef struct trainer_values {
    const char *data, *base_model, *output, *epochs, *seed;
} trainer_values;

/* The argv of tmpl with v substituted, allocated in a and NULL-terminated;
 * 0, or -1 with why set: an empty command, an unclosed quote, an unknown
 * placeholder, or {data} or {output} missing. */
int trainer_argv(const char *tmpl, const trainer_values *v, arena *a, char ***argv, char why[TRAINER_WHY_MAX]);

#endif
