/* cmd_check.c — `dspcc check FILE.dsp...`: parse and check, print
 * diagnostics (as text, optionally coloured, or as JSON or SARIF for
 * tools), exit 1 if there were errors. */
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include "arena.h"
#include "cli_common.h"
#include "cli_options.h"
#include "cmd.h"
#include "diag.h"
#include "diag_format.h"
#include "sema.h"

#ifndef DSPCC_VERSION
#define DSPCC_VERSION "unknown"
#endif

enum { FMT_TEXT, FMT_JSON, FMT_SARIF };
enum { OPT_WERROR = 256, OPT_FORMAT, OPT_COLOR };

static const struct option options[] = {
    { "werror", no_argument, NULL, OPT_WERROR },
    { "diagnostics-format", required_argument, NULL, OPT_FORMAT },
    { "color", required_argument, NULL, OPT_COLOR },
    { "colour", required_argument, NULL, OPT_COLOR },
    CLI_OPTIONS_END,
};

static int run(int argc, char **argv)
{
    int werror = 0, status = 0, format = FMT_TEXT;
    const char *color = "auto";
    cli_opts o;
    cli_opts_init(&o, &cmd_check, argc, argv, "", options);
    int c;
    while ((c = cli_opts_next(&o)) != CLI_OPTS_END) {
        switch (c) {
        case OPT_WERROR: werror = 1; break;
        case OPT_FORMAT:
            format = strcmp(o.value, "text") == 0 ? FMT_TEXT : strcmp(o.value, "json") == 0 ? FMT_JSON
                     : strcmp(o.value, "sarif") == 0                                     ? FMT_SARIF
                                                                                          : -1;
            if (format < 0) {
                fprintf(stderr, "dspcc check: --diagnostics-format takes text, json or sarif, got `%s`\n", o.value);
                return 2;
            }
            break;
        case OPT_COLOR:
            if (diag_color_wanted(o.value, NULL) < 0) {
                fprintf(stderr, "dspcc check: %s takes auto, always or never, got `%s`\n", o.name, o.value);
                return 2;
            }
            color = o.value;
            break;
        default: return c == CLI_OPTS_HELP ? 0 : 2;
        }
    }
    if (o.n_operands == 0) {
        fputs("dspcc check: no input file; usage: dspcc check FILE.dsp\n", stderr);
        return 2;
    }
    /* JSON and SARIF are one document for every file, on stdout. */
    cJSON *doc = format == FMT_JSON ? cJSON_CreateArray() : format == FMT_SARIF ? diag_sarif_new(DSPCC_VERSION) : NULL;
    int use_color = format == FMT_TEXT && diag_color_wanted(color, stderr) == 1;
    for (int i = 0; i < o.n_operands; i++) {
        arena a;
        arena_init(&a);
        diag d;
        diag_init(&d, &a, doc ? NULL : stderr);
        d.color = use_color;
        cli_check_input(&a, &d, o.operands[i]);
        if (format == FMT_JSON)
            diag_json_add(doc, &d);
        else if (format == FMT_SARIF)
            diag_sarif_add(doc, &d);
        if (d.errors || (werror && d.warnings))
            status = 1;
        arena_free(&a);
    }
    if (doc) {
        char *s = cJSON_Print(doc);
        cJSON_Delete(doc);
        if (!s) {
            fputs("dspcc check: out of memory\n", stderr);
            return 1;
        }
        puts(s);
        cJSON_free(s);
    }
    return status;
}

const dspcc_cmd cmd_check = {
    "check",
    "parse and check .dsp files; print diagnostics",
    "usage: dspcc check [--werror] [--diagnostics-format=text|json|sarif]\n"
    "                   [--color=auto|always|never] FILE.dsp...\n"
    "       dspcc check [options] -\n\n"
    "Parses and checks each file and its imports. Diagnostics go to stderr as\n"
    "file:line:col: error: message, with the source line and a caret. `-` reads\n"
    "the program from standard input (named <stdin>; imports are relative to\n"
    "the current directory).\n\n"
    "  --werror                 treat warnings as errors\n"
    "  --diagnostics-format=F   text (default); json: one JSON array on stdout in\n"
    "                           GCC's layout (kind, message, locations[].caret\n"
    "                           {file, line, column}); sarif: a SARIF 2.1.0 log on\n"
    "                           stdout for code-review tools\n"
    "  --color=WHEN             colour text diagnostics as GCC does: auto (default:\n"
    "                           when stderr is a terminal, NO_COLOR is unset and\n"
    "                           TERM is not dumb), always, never (--colour too)\n\n"
    "Exit status: 0 no errors, 1 errors, 2 bad usage.\n",
    run,
};
