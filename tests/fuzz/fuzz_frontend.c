/* fuzz_frontend.c — libFuzzer harness for the front end: a .dsp source of
 * any bytes through the lexer, parser and checker (parse.c, sema*.c) and,
 * when it checks, the IR's JSON dump. Diagnostics go to /dev/null. A crash,
 * a sanitizer report, a leak or a hang (libFuzzer's -timeout) is a bug;
 * any error message is fine. Seeds: tests/fuzz/corpus/fuzz_frontend (the
 * examples and small programs of each construct). tests/compiler/
 * fuzz_check.c runs a seeded mutation pass of the same path in make test. */
#include <stdint.h>
#include <stdio.h>
#include <stdlib.h>

#include "arena.h"
#include "diag.h"
#include "ir_json.h"
#include "parse.h"
#include "sema.h"

int LLVMFuzzerTestOneInput(const uint8_t *data, size_t size);

int LLVMFuzzerTestOneInput(const uint8_t *data, size_t size)
{
    static FILE *devnull;
    if (!devnull && !(devnull = fopen("/dev/null", "w")))
        abort();
    arena a;
    arena_init(&a);
    diag d;
    diag_init(&d, &a, devnull);
    /* Relative paths (imports, data, headers) resolve in a folder that
     * holds none of them. */
    source_file *src = source_from_string(&a, "/nonexistent/fuzz.dsp", (const char *)data, size);
    ir_program *p = src ? sema_check_source(&a, &d, src) : NULL;
    if (p)
        free(ir_to_json(p));
    arena_free(&a);
    return 0;
}
