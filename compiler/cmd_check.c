/* cmd_check.c — `dspcc check FILE.dsp...`: parse and check, print
 * diagnostics (as text, optionally coloured, or as JSON or SARIF for
 * tools), exit 1 if there were errors. */
#include <getopt.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include "arena.h"
#include "cli_common.h"
#include "cmd.h"
#include "diag.h"
#include "diag_format.h"
#include "sema.h"

#ifndef DSPCC_VERSION
#define DSPCC_VERSION "unknown"
#endif

enum { FMT_TEXT, FMT_JSON, FMT_SARIF };
enum { OPT_WERROR = 256, OPT_FORMAT, OPT_COLOR, OPT_HELP };

static const struct option options[] = {
    { "werror", no_argument, NULL, OPT_WERROR },
    { "diagnostics-format", required_argument, NULL, OPT_FORMAT },
    { "color", required_argument, NULL, OPT_COLOR },
    { "colour", required_argument, NULL, OPT_COLOR },
    { "help", no_argument, NULL, OPT_HELP },
    { NULL, 0, NULL, 0 },
};

static int run(int argc, char **argv)
{
    int werror = 0, status = 0, format = FMT_TEXT;
    const char *color = "auto";
    optind = 1;
    opterr = 0;
    int c;
    while ((c = getopt_long(argc, argv, ":h", options, NULL)) != -1) {
        switch (c) {
        case OPT_WERROR: werror = 1; break;
        case OPT_FORMAT:
            format = strcmp(optarg, "text") == 0 ? FMT_TEXT : strcmp(optarg, "json") == 0 ? FMT_JSON
                     : strcmp(optarg, "sarif") == 0                                     ? FMT_SARIF
                                                                                         : -1;
            if (format < 0) {
                fprintf(stderr, "dspcc check: --diagnostics-format takes text, json or sarif, got `%s`\n", optarg);
                return 2;
            }
            break;
        case OPT_COLOR:
            if (diag_color_wanted(optarg, NULL) < 0) {
                fprintf(stderr, "dspcc check: --color takes auto, always or never, got `%s`\n", optarg);
                return 2;
            }
            color = optarg;
            break;
        case 'h':
        case OPT_HELP: fputs(cmd_check.usage, stdout); return 0;
        case ':': fprintf(stderr, "dspcc check: %s needs a value\n", argv[optind - 1]); return 2;
        default: fprintf(stderr, "dspcc check: unknown option `%s`\n", argv[optind - 1]); return 2;
        }
    }
    if (optind >= argc) {
        fputs("dspcc check: no input file; usage: dspcc check FILE.dsp\n", stderr);
        return 2;
    }
    /* JSON and SARIF are one document for every file, on stdout. */
    cJSON *doc = format == FMT_JSON ? cJSON_CreateArray() : format == FMT_SARIF ? diag_sarif_new(DSPCC_VERSION) : NULL;
    int use_color = format == FMT_TEXT && diag_color_wanted(color, stderr) == 1;
    for (int i = optind; i < argc; i++) {
        arena a;
        arena_init(&a);
        diag d;
        diag_init(&d, &a, doc ? NULL : stderr);
        d.color = use_color;
        cli_check_input(&a, &d, argv[i]);
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
    "                           TERM is not dumb), always, never\n\n"
    "Exit status: 0 no errors, 1 errors, 2 bad usage.\n",
    run,
};
