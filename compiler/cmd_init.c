/* cmd_init.c — `dspcc init NAME`: a new project that checks and builds as
 * it is: NAME.dsp (a two-label classifier to edit), data/train.jsonl and
 * data/dev.jsonl (the data layout, a few rows to replace), main.c (a
 * command-line program around the generated C) and a Makefile that builds
 * it with `dspcc build` as an ordinary step. Existing files are never
 * overwritten. */
#include <errno.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/stat.h>

#include "arena.h"
#include "cg.h"
#include "cli_options.h"
#include "cmd.h"
#include "file_write.h"

/* NAME: lower-case letters, digits and single underscores, starting with a
 * letter, so it is a file name, a module name (CamelCase) and a C prefix. */
static int valid_name(const char *s)
{
    if (!(*s >= 'a' && *s <= 'z') || strlen(s) > 64)
        return 0;
    for (const char *p = s; *p; p++) {
        int ok = (*p >= 'a' && *p <= 'z') || (*p >= '0' && *p <= '9') || (*p == '_' && p[1] && p[1] != '_');
        if (!ok)
            return 0;
    }
    return 1;
}

static char *camel(arena *a, const char *s)
{
    char *out = arena_alloc(a, strlen(s) + 1);
    size_t n = 0;
    int up = 1;
    for (const char *p = s; *p; p++) {
        if (*p == '_') {
            up = 1;
            continue;
        }
        out[n++] = up && *p >= 'a' && *p <= 'z' ? (char)(*p - 'a' + 'A') : *p;
        up = 0;
    }
    out[n] = '\0';
    return out;
}

static const char *DSP_TEMPLATE =
    "// %1$s: a starter program from `dspcc init`. Edit the signature first\n"
    "// (what goes in, what comes out), then put your examples in data/.\n"
    "// docs/language.md describes every construct.\n"
    "\n"
    "// The LM. Any OpenAI-compatible server works with\n"
    "// --base-url / DSPCC_BASE_URL; the key is read from this variable.\n"
    "lm main = \"openai/gpt-4o-mini\" {\n"
    "  temperature: 0.0\n"
    "  max_tokens: 256\n"
    "  api_key_env: \"OPENAI_API_KEY\"\n"
    "}\n"
    "\n"
    "// 1. The labels. Replace them with yours.\n"
    "enum Label { positive, negative }\n"
    "\n"
    "// 2. The task: the instructions, the inputs and the outputs.\n"
    "signature Classify \"Decide whether the text is positive or negative.\" {\n"
    "  in  text: string  \"The text to classify\"\n"
    "  out label: Label  \"Its label\"\n"
    "}\n"
    "\n"
    "module %2$s(text: string) -> (label: Label) {\n"
    "  r = predict(Classify)(text: text)\n"
    "  return r\n"
    "}\n"
    "\n"
    "// 3. How to score an answer against a labelled example.\n"
    "metric accuracy(ex, pred) = exact_match(pred.label, ex.label)\n"
    "\n"
    "// 4. Your examples: one JSON object a line, with these columns.\n"
    "data train = jsonl(\"data/train.jsonl\") { text -> text, label -> label }\n"
    "data dev = jsonl(\"data/dev.jsonl\") { text -> text, label -> label }\n"
    "\n"
    "optimize %2$s with bootstrap_fewshot(max_bootstrapped_demos: 4, max_labeled_demos: 4) {\n"
    "  metric: accuracy\n"
    "  trainset: train\n"
    "  valset: dev\n"
    "  lm: main\n"
    "  seed: 1\n"
    "}\n";

static const char *TRAIN_TEMPLATE = "{\"text\": \"I love this, it works perfectly.\", \"label\": \"positive\"}\n"
                                    "{\"text\": \"Broke after one day. Very disappointed.\", \"label\": \"negative\"}\n"
                                    "{\"text\": \"Great value and fast delivery.\", \"label\": \"positive\"}\n"
                                    "{\"text\": \"It never turned on.\", \"label\": \"negative\"}\n";

static const char *DEV_TEMPLATE = "{\"text\": \"Exactly what I needed.\", \"label\": \"positive\"}\n"
                                  "{\"text\": \"Waste of money.\", \"label\": \"negative\"}\n";

static const char *MAIN_TEMPLATE =
    "/* %1$s: labels each line of standard input with the program in %1$s.dsp,\n"
    " * one label a line. The generated API (%1$s.h) is described in dspcc's\n"
    " * docs/codegen.md; the Makefile builds this file with it. */\n"
    "#include <stdio.h>\n"
    "#include <string.h>\n"
    "\n"
    "#include \"%1$s.h\"\n"
    "\n"
    "int main(void)\n"
    "{\n"
    "    dsp_error err = { 0 };\n"
    "    dsp_client *client = NULL;\n"
    "    dsp_client_options opts = dsp_client_options_default();\n"
    "    if (dsp_client_new(&opts, &client, &err) != DSP_OK) {\n"
    "        fprintf(stderr, \"%1$s: %%s\\n\", err.message);\n"
    "        return 1;\n"
    "    }\n"
    "    char line[4096];\n"
    "    int failed = 0;\n"
    "    while (fgets(line, sizeof line, stdin)) {\n"
    "        line[strcspn(line, \"\\r\\n\")] = '\\0';\n"
    "        %2$s_input in = { line };\n"
    "        %2$s_output out;\n"
    "        memset(&out, 0, sizeof out);\n"
    "        if (%2$s_run(client, &in, &out, &err) != 0) {\n"
    "            fprintf(stderr, \"%1$s: %%s\\n\", err.message);\n"
    "            dsp_error_clear(&err);\n"
    "            puts(\"\");\n"
    "            failed = 1;\n"
    "            continue;\n"
    "        }\n"
    "        puts(%2$s_label_names[out.label]);\n"
    "        %2$s_output_free(&out);\n"
    "    }\n"
    "    dsp_client_free(client);\n"
    "    return failed;\n"
    "}\n";

static const char *MAKE_TEMPLATE =
    "# %1$s: `make` builds build/%1$s from %1$s.dsp and main.c.\n"
    "#\n"
    "#   make                    the program as written (no optimization)\n"
    "#   make STATE=s.json       with an optimized state from `dspcc optimize`\n"
    "#\n"
    "# `dspcc build` writes build/%1$s.c and .h and a depfile, so editing\n"
    "# %1$s.dsp or its data rebuilds what depends on them.\n"
    "\n"
    "DSPCC     ?= dspcc\n"
    "OUT       ?= build\n"
    "STATE     ?=\n"
    "DSPFLAGS  ?= $(if $(STATE),--state $(STATE),--no-opt)\n"
    "CC        ?= cc\n"
    "CFLAGS    ?= -std=c17 -Wall -Wextra -O2\n"
    "RT_CFLAGS ?= $(shell pkg-config --cflags dsprt)\n"
    "RT_LIBS   ?= $(shell pkg-config --libs dsprt)\n"
    "\n"
    ".PHONY: all clean\n"
    "all: $(OUT)/%1$s\n"
    "\n"
    "$(OUT)/%1$s: main.c $(OUT)/%1$s.c $(OUT)/%1$s.h\n"
    "\t$(CC) $(CFLAGS) $(RT_CFLAGS) -I$(OUT) -o $@ main.c $(OUT)/%1$s.c $(RT_LIBS)\n"
    "\n"
    "$(OUT)/%1$s.h: $(OUT)/%1$s.c\n"
    "$(OUT)/%1$s.c: %1$s.dsp\n"
    "\t@mkdir -p $(OUT)\n"
    "\t$(DSPCC) build %1$s.dsp $(DSPFLAGS) -o $@ -MD -MF $(OUT)/%1$s.d\n"
    "\n"
    "clean:\n"
    "\trm -rf $(OUT)\n"
    "\n"
    "-include $(OUT)/%1$s.d\n";

/* Writes dir/name from a template with %1$s = a and %2$s = b. */
static int write_one(arena *mem, const char *dir, const char *name, const char *tmpl, const char *a, const char *b)
{
    const char *path = arena_printf(mem, "%s/%s", dir, name);
    struct stat st;
    if (stat(path, &st) == 0) {
        fprintf(stderr, "dspcc init: %s exists; init never overwrites a file (remove it, or pick another NAME)\n",
                path);
        return 0;
    }
    int n = snprintf(NULL, 0, tmpl, a, b);
    char *text = arena_alloc(mem, (size_t)n + 1);
    snprintf(text, (size_t)n + 1, tmpl, a, b);
    char why[FW_WHY_MAX];
    if (fw_write_file(path, text, (size_t)n, 0644, why) != 0) {
        fprintf(stderr, "dspcc init: %s\n", why);
        return 0;
    }
    return 1;
}

static int make_dir(const char *path)
{
    if (mkdir(path, 0755) == 0 || errno == EEXIST)
        return 1;
    fprintf(stderr, "dspcc init: cannot create directory %s: %s\n", path, strerror(errno));
    return 0;
}

enum { OPT_DIR = 256 };

static const struct option options[] = {
    { "dir", required_argument, NULL, OPT_DIR },
    CLI_OPTIONS_END,
};

static int run(int argc, char **argv)
{
    const char *dir = NULL;
    cli_opts o;
    cli_opts_init(&o, &cmd_init, argc, argv, "", options);
    int c;
    while ((c = cli_opts_next(&o)) != CLI_OPTS_END) {
        if (c != OPT_DIR)
            return c == CLI_OPTS_HELP ? 0 : 2;
        dir = o.value;
    }
    if (o.n_operands != 1) {
        fputs("dspcc init: usage: dspcc init NAME [--dir DIR]; see `dspcc init --help`\n", stderr);
        return 2;
    }
    const char *name = o.operands[0];
    if (!valid_name(name)) {
        fprintf(stderr,
                "dspcc init: `%s` cannot be a project name: use lower-case letters, digits and single "
                "underscores, starting with a letter (e.g. `sentiment` or `my_classifier`)\n",
                name);
        return 2;
    }
    if (strcmp(name, "dsp") == 0 || strncmp(name, "dsp_", 4) == 0) {
        fprintf(stderr, "dspcc init: `%s` cannot be a project name: the generated C's names start with it, and "
                        "names starting `dsp_` are libdsprt's; pick another (e.g. `my_%s`)\n", name, name);
        return 2;
    }
    if (!dir)
        dir = name;
    arena mem;
    arena_init(&mem);
    const char *module = camel(&mem, name);
    const char *prefix = cg_snake(&mem, module);
    int ok = make_dir(dir) && make_dir(arena_printf(&mem, "%s/data", dir)) &&
             write_one(&mem, dir, arena_printf(&mem, "%s.dsp", name), DSP_TEMPLATE, name, module) &&
             write_one(&mem, dir, "data/train.jsonl", TRAIN_TEMPLATE, name, module) &&
             write_one(&mem, dir, "data/dev.jsonl", DEV_TEMPLATE, name, module) &&
             write_one(&mem, dir, "main.c", MAIN_TEMPLATE, name, prefix) &&
             write_one(&mem, dir, "Makefile", MAKE_TEMPLATE, name, module);
    if (ok) {
        printf("created %1$s/: %2$s.dsp, data/train.jsonl, data/dev.jsonl, main.c, Makefile\n\n"
               "Edit first:\n"
               "  1. %1$s/%2$s.dsp: the labels (enum Label), the instructions and fields of\n"
               "     signature Classify, and the lm (model and key variable)\n"
               "  2. %1$s/data/*.jsonl: your examples, one JSON object a line with the\n"
               "     columns the `data` lines name (train for demos, dev to score)\n"
               "Then, in %1$s/:\n",
               dir, name);
        const char *steps[][2] = {
            { arena_printf(&mem, "dspcc check %s.dsp", name), "the program is well formed" },
            { arena_printf(&mem, "dspcc prompt %s.dsp --example 0 --data dev", name), "the exact prompt it sends" },
            { arena_printf(&mem, "dspcc eval %s.dsp --data dev", name), "its score before optimizing" },
            { arena_printf(&mem, "dspcc optimize %s.dsp -o %s.state.json", name, name), "better instructions, demos" },
            { arena_printf(&mem, "make STATE=%s.state.json", name), arena_printf(&mem, "build/%s, a C program", name) },
        };
        int w = 0;
        for (size_t i = 0; i < sizeof steps / sizeof steps[0]; i++)
            if ((int)strlen(steps[i][0]) > w)
                w = (int)strlen(steps[i][0]);
        for (size_t i = 0; i < sizeof steps / sizeof steps[0]; i++)
            printf("  %-*s  # %s\n", w, steps[i][0], steps[i][1]);
    }
    arena_free(&mem);
    return ok ? 0 : 1;
}

const dspcc_cmd cmd_init = {
    "init",
    "start a new project: a .dsp, data templates and a Makefile",
    "usage: dspcc init NAME [--dir DIR]\n\n"
    "Creates DIR (default NAME) with NAME.dsp (a two-label classifier: lm,\n"
    "enum, signature, module, metric, data and optimize block), data/train.jsonl\n"
    "and data/dev.jsonl (the layout the program reads, with a few rows to\n"
    "replace), main.c (labels each line of stdin with the generated C) and a\n"
    "Makefile that builds build/NAME with `dspcc build` (DSPCC, STATE,\n"
    "RT_CFLAGS and RT_LIBS may be set; libdsprt is found with pkg-config).\n"
    "Prints what to edit first. Files that exist are never overwritten.\n\n"
    "NAME: lower-case letters, digits and single underscores, starting with a\n"
    "letter; the module is its CamelCase (my_app: MyApp).\n\n"
    "  --dir DIR   create the project in DIR instead of ./NAME\n\n"
    "Exit status: 0 created, 1 a file existed or could not be written, 2 bad usage.\n",
    run,
};
