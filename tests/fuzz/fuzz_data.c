/* fuzz_data.c — libFuzzer harness for data loading: a JSONL or CSV file of
 * any bytes (the first byte picks the format) read into the typed rows of a
 * module with string, int, float, bool, enum and list fields (dataset.c,
 * dataset_csv.c, datafile.c). The loader reads a path, so each input is
 * written to one scratch file per process first. A row must load whole or
 * be a clear error naming its place; never a crash, a sanitizer report or a
 * leak. Seeds: tests/fuzz/corpus/fuzz_data. */
#include <stdint.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <unistd.h>

#include "arena.h"
#include "diag.h"
#include "exec.h"
#include "parse.h"
#include "sema.h"

static const char program[] =
    "lm m = \"openai/gpt-4o-mini\"\n"
    "enum Color { red, green, \"dark blue\" }\n"
    "signature S \"Label it.\" {\n"
    "  in  text: string\n"
    "  in  n: int\n"
    "  out label: Color\n"
    "  out score: float\n"
    "  out ok: bool\n"
    "  out tags: list<string>\n"
    "}\n"
    "module M(text: string, n: int) -> (label: Color, score: float, ok: bool, tags: list<string>) {\n"
    "  r = predict(S)(text: text, n: n)\n"
    "  return r\n"
    "}\n";

static arena prog_mem;
static ir_program *prog;
static char paths[2][64];

static void setup(void)
{
    arena_init(&prog_mem);
    FILE *devnull = fopen("/dev/null", "w");
    diag d;
    diag_init(&d, &prog_mem, devnull ? devnull : stderr);
    source_file *src = source_from_string(&prog_mem, "fuzz_data.dsp", program, sizeof program - 1);
    prog = src ? sema_check_source(&prog_mem, &d, src) : NULL;
    if (devnull)
        fclose(devnull);
    if (!prog || prog->n_modules == 0) {
        fputs("fuzz_data: the harness's own program does not check\n", stderr);
        abort();
    }
    const char *tmp = getenv("TMPDIR");
    snprintf(paths[0], sizeof paths[0], "%s/fuzz_data.%ld.jsonl", tmp ? tmp : "/tmp", (long)getpid());
    snprintf(paths[1], sizeof paths[1], "%s/fuzz_data.%ld.csv", tmp ? tmp : "/tmp", (long)getpid());
}

int LLVMFuzzerTestOneInput(const uint8_t *data, size_t size);

int LLVMFuzzerTestOneInput(const uint8_t *data, size_t size)
{
    if (!prog)
        setup();
    if (size < 1)
        return 0;
    const char *path = paths[data[0] & 1];
    FILE *f = fopen(path, "wb");
    if (!f)
        abort();
    if (size > 1 && fwrite(data + 1, 1, size - 1, f) != size - 1)
        abort();
    fclose(f);
    ex_dataset ds;
    dsp_error err = {0};
    dsp_status st = ex_dataset_load_path(prog, prog->modules[0], path, &ds, &err);
    if (st == DSP_OK)
        ex_dataset_free(&ds);
    else if (err.message[0] == '\0')
        abort(); /* an error must say what is wrong */
    dsp_error_clear(&err);
    unlink(path);
    return 0;
}
