/* cmd_prompt.c — `dspcc prompt FILE.dsp`: the exact messages (or request
 * bodies) each predictor of a program would send, before any LM call. The
 * messages come from the runtime's chat adapter and the bodies from the
 * client's own writer (ex_prompt_render, dsp_chat_request_body), so what is
 * shown is what goes over the wire. With --run, cmd_prompt_run.c runs the
 * program and shows every call it made instead. */
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include "arena.h"
#include "cli_common.h"
#include "cli_options.h"
#include "cmd.h"
#include "cmd_prompt.h"
#include "diag.h"
#include "exec.h"
#include "sema.h"
#include "state.h"

enum { OPT_STATE = 256, OPT_PREDICTOR, OPT_EXAMPLE, OPT_DATA, OPT_INPUT, OPT_WIRE, OPT_MODULE, OPT_RUN };

static const struct option options[] = {
    { "state", required_argument, NULL, OPT_STATE },
    { "predictor", required_argument, NULL, OPT_PREDICTOR },
    { "example", required_argument, NULL, OPT_EXAMPLE },
    { "data", required_argument, NULL, OPT_DATA },
    { "input", required_argument, NULL, OPT_INPUT },
    { "wire", required_argument, NULL, OPT_WIRE },
    { "module", required_argument, NULL, OPT_MODULE },
    { "run", no_argument, NULL, OPT_RUN },
    CLI_OPT_BASE_URL_ENTRY,
    CLI_OPT_CACHE_DIR_ENTRY,
    CLI_OPT_NO_CACHE_ENTRY,
    CLI_OPT_RETRIES_ENTRY,
    CLI_OPT_TIMEOUT_ENTRY,
    CLI_OPTIONS_END,
};

/* 0: go on; -1: help was printed; else the exit status. */
static int parse_args(int argc, char **argv, prompt_args *a)
{
    memset(a, 0, sizeof *a);
    cli_client_args_init(&a->client);
    cli_opts o;
    cli_opts_init(&o, &cmd_prompt, argc, argv, "", options);
    int c;
    while ((c = cli_opts_next(&o)) != CLI_OPTS_END) {
        switch (c) {
        case OPT_STATE: a->state = o.value; break;
        case OPT_PREDICTOR: a->predictor = o.value; break;
        case OPT_DATA: a->data = o.value; break;
        case OPT_INPUT: a->input = o.value; break;
        case OPT_WIRE: a->wire = o.value; break;
        case OPT_MODULE: a->module = o.value; break;
        case OPT_RUN: a->run = 1; break;
        case OPT_EXAMPLE:
            if (!cli_opts_whole(&o, 0, &a->example))
                return 2;
            a->has_example = 1;
            break;
        case CLI_OPTS_HELP: return -1;
        case CLI_OPTS_BAD: return 2;
        default:
            if (cli_client_option(&o, c, &a->client) < 0)
                return 2;
        }
    }
    if (!cli_opts_file(&o, &a->file))
        return 2;
    if (!a->file) {
        fputs("dspcc prompt: usage: dspcc prompt FILE.dsp [options]; see `dspcc prompt --help`\n", stderr);
        return 2;
    }
    if (a->wire && strcmp(a->wire, "openai") != 0 && strcmp(a->wire, "anthropic") != 0 &&
        strcmp(a->wire, "gemini") != 0 && strcmp(a->wire, "bedrock") != 0) {
        fprintf(stderr, "dspcc prompt: --wire takes openai, anthropic, gemini or bedrock, got `%s`\n", a->wire);
        return 2;
    }
    if (a->input && (a->data || a->has_example)) {
        fputs("dspcc prompt: give the inputs either with --input JSON or with --example N --data NAME, not both\n",
              stderr);
        return 2;
    }
    if (a->run && !a->data && !a->input) {
        fputs("dspcc prompt: --run runs the program on one example: give --example N --data NAME or --input JSON\n",
              stderr);
        return 2;
    }
    if (a->has_example && !a->data) {
        fputs("dspcc prompt: --example N needs --data NAME|PATH (the data set it numbers)\n", stderr);
        return 2;
    }
    return 0;
}

static const char *role_name(dsp_role r)
{
    return r == DSP_ROLE_SYSTEM ? "system" : r == DSP_ROLE_USER ? "user" : r == DSP_ROLE_TOOL ? "tool" : "assistant";
}

int prompt_setup(const cli_client_args *ca, const ir_program *p, const ir_module *m, const ir_lm *lm,
                 const st_state *st, dsp_client **client, ex_runner **runner, ex_config *cfg)
{
    dsp_error err = { 0 };
    if (!cli_client_new("prompt", ca, client, &err))
        return 0;
    ex_runner_options ro = ex_runner_options_default();
    ro.client = *client;
    ro.lm = lm;
    int ok = ex_runner_new(p, m, &ro, runner, &err) == DSP_OK && ex_config_init(*runner, cfg, &err) == DSP_OK &&
             (!st || ex_config_apply_state(*runner, cfg, st, &err) == DSP_OK);
    if (!ok)
        fprintf(stderr, "dspcc prompt: %s\n", err.message);
    dsp_error_clear(&err);
    return ok;
}

void prompt_messages_text(strbuf *b, const dsp_message *msgs, size_t n)
{
    for (size_t i = 0; i < n; i++) {
        const dsp_message *m = &msgs[i];
        const char *text = m->content ? m->content : "";
        sb_printf(b, "%s[%s]", i ? "\n\n" : "", role_name(m->role));
        /* Native tool calling: a tool turn answers a call by its id, and
         * an assistant turn's calls are part of what the model said. */
        if (m->role == DSP_ROLE_TOOL && m->tool_call_id)
            sb_printf(b, " (the result of call %s%s)", m->tool_call_id, m->tool_error ? ", an error" : "");
        sb_printf(b, "\n%s", text);
        for (size_t k = 0; k < m->n_tool_calls; k++) {
            const dsp_tool_call *tc = &m->tool_calls[k];
            sb_printf(b, "%scalls %s %s (call %s)", text[0] || k ? "\n" : "", tc->name ? tc->name : "(no name)",
                      tc->arguments ? tc->arguments : "{}", tc->id ? tc->id : "without an id");
        }
    }
}

/* The wire format a provider speaks: its own for Anthropic, Gemini and
 * Bedrock; OpenAI's for every other (Azure and the presets included). */
static const char *wire_of(dsp_provider p)
{
    return p == DSP_PROVIDER_ANTHROPIC ? "anthropic"
           : p == DSP_PROVIDER_GEMINI  ? "gemini"
           : p == DSP_PROVIDER_BEDROCK ? "bedrock"
                                       : "openai";
}

const dsp_lm_config *prompt_on_wire(arena *mem, const dsp_lm_config *lm, const char *wire, dsp_error *err)
{
    dsp_provider prov;
    const char *name;
    if (dsp_parse_model(lm->model, &prov, &name, err) != DSP_OK)
        return NULL;
    if (strcmp(wire_of(prov), wire) == 0)
        return lm;
    dsp_lm_config *c = arena_alloc(mem, sizeof *c);
    *c = *lm;
    c->model = arena_printf(mem, "%s/%s", wire, name);
    return c;
}

/* Prints one predictor's prompt; 0 on an error (reported). */
static int show(arena *mem, const ex_runner *r, const ex_config *cfg, const ir_predictor *ip, const dsp_value *params,
                const prompt_args *a, int heading)
{
    ex_prompt pr;
    dsp_error err = { 0 };
    if (ex_prompt_render(r, cfg, ip, params, &pr, &err) != DSP_OK) {
        fprintf(stderr, "dspcc prompt: %s: %s\n", ip->name, err.message);
        dsp_error_clear(&err);
        return 0;
    }
    int ok = 1;
    if (heading)
        printf("=== %s: %s(%s) on %s, %zu messages%s ===\n", ip->name, ip->strategy, ip->signature->name,
               pr.lm ? pr.lm->model : "?", pr.messages.len,
               pr.n_placeholders ? "; {name}: an input known only when the program runs (--run fills it)" : "");
    if (a->wire) {
        const dsp_lm_config *lm = pr.lm ? prompt_on_wire(mem, pr.lm, a->wire, &err) : NULL;
        char *body = NULL;
        if (!lm || dsp_chat_request_body(lm, &pr.request, &body, &err) != DSP_OK) {
            fprintf(stderr, "dspcc prompt: %s: %s\n", ip->name, lm ? err.message : "no lm to send to");
            ok = 0;
        } else {
            puts(body);
        }
        free(body);
    } else {
        strbuf b = { 0 };
        prompt_messages_text(&b, pr.messages.items, pr.messages.len);
        fputs(b.p ? b.p : "", stdout);
        putchar('\n');
        sb_free(&b);
    }
    dsp_error_clear(&err);
    ex_prompt_free(&pr);
    return ok;
}

static int run(int argc, char **argv)
{
    prompt_args a;
    int rc = parse_args(argc, argv, &a);
    if (rc)
        return rc < 0 ? 0 : rc;
    arena mem;
    arena_init(&mem);
    diag dg;
    diag_init(&dg, &mem, stderr);
    int status = 1;
    dsp_error err = { 0 };
    st_state st;
    memset(&st, 0, sizeof st);
    int have_state = 0;
    dsp_client *client = NULL;
    ex_runner *runner = NULL;
    ex_dataset data;
    memset(&data, 0, sizeof data);
    int have_data = 0;
    ex_config cfg;
    memset(&cfg, 0, sizeof cfg);

    ir_program *p = sema_check_file(&mem, &dg, a.file);
    if (!p)
        goto out;
    if (a.state) {
        if (st_read_file(a.state, &st, &err) != DSP_OK) {
            fprintf(stderr, "dspcc prompt: %s\n", err.message);
            goto out;
        }
        have_state = 1;
    }
    const ir_module *m;
    const ir_optimize *opt;
    if (!cli_pick_module("prompt", p, a.file, a.module, a.state, have_state ? st.program : NULL, &m, &opt))
        goto out;
    const ir_lm *lm = opt ? opt->lm : p->n_lms ? p->lms[0] : NULL;
    if (!lm) {
        fprintf(stderr, "dspcc prompt: %s declares no lm to run the program on\n", a.file);
        goto out;
    }
    const dsp_value *params = NULL;
    if (a.data || a.input) {
        dsp_status ds = a.input ? ex_dataset_from_json(m, "--input", a.input, &data, &err)
                                : ex_dataset_open(p, m, a.data, &data, &err);
        if (ds != DSP_OK) {
            fprintf(stderr, "dspcc prompt: %s\n", err.message);
            goto out;
        }
        have_data = 1;
        if ((size_t)a.example >= data.n_rows) {
            fprintf(stderr, "dspcc prompt: --example %lld: %s has %zu examples, numbered 0 to %zu\n", a.example,
                    data.name, data.n_rows, data.n_rows - 1);
            goto out;
        }
        params = data.rows[a.example].values;
    }
    if (a.run) {
        status = prompt_run(&a, p, m, lm, have_state ? &st : NULL, &data, (size_t)a.example);
        goto out;
    }
    /* No call is made (but knn_fewshot's embeddings call, which finds an
     * input's demos): the client only completes the runner. */
    /* The client flags reach that embeddings call; the cache only when
     * --cache-dir names one, so printing a prompt touches no cache. */
    cli_client_args ca = a.client;
    ca.no_cache = a.client.no_cache || !a.client.cache_dir;
    ca.max_in_flight = 1;
    if (ca.retries < 0)
        ca.retries = 0;
    ca.trace = ""; /* "": no trace either, not even $DSPCC_TRACE */
    if (!prompt_setup(&ca, p, m, lm, have_state ? &st : NULL, &client, &runner, &cfg))
        goto out;
    size_t shown = 0;
    status = 0;
    for (size_t i = 0; i < cfg.n_preds; i++) {
        const ir_predictor *ip = cfg.preds[i].predictor;
        const ir_module *pm = ir_module_find(p, ip->module);
        if (a.predictor ? strcmp(ip->name, a.predictor) != 0 : !(pm && ir_module_reaches(m, pm)))
            continue;
        if (shown++ && !a.wire)
            putchar('\n');
        if (!show(&mem, runner, &cfg, ip, params, &a, !a.predictor))
            status = 1;
    }
    if (a.predictor && !shown) {
        fprintf(stderr, "dspcc prompt: %s has no predictor `%s`; its predictors are:", a.file, a.predictor);
        for (size_t i = 0; i < cfg.n_preds; i++)
            fprintf(stderr, "%s %s", i ? "," : "", cfg.preds[i].predictor->name);
        fputs(" (Module.variable)\n", stderr);
        status = 1;
    }
out:
    ex_config_free(&cfg);
    ex_runner_free(runner);
    if (have_data)
        ex_dataset_free(&data);
    dsp_client_free(client);
    if (have_state)
        st_free(&st);
    dsp_error_clear(&err);
    arena_free(&mem);
    return status;
}

const dspcc_cmd cmd_prompt = {
    "prompt",
    "print the exact messages or request bodies each predictor would send",
    "usage: dspcc prompt FILE.dsp [--state STATE] [--predictor Module.var]\n"
    "                    [--example N --data NAME|PATH | --input JSON]\n"
    "                    [--wire openai|anthropic|gemini|bedrock]\n"
    "                    [--run] [--base-url URL] [--no-cache] [--cache-dir DIR] [--retries N] [--timeout S]\n\n"
    "Prints, without calling any LM, the messages each predictor of the program\n"
    "would send: the system message, one user/assistant pair per demo and the\n"
    "final user message, each as `[role]` and its text, rendered by the same\n"
    "runtime code the generated C and `dspcc eval` use. Inputs bound from the\n"
    "module's parameters are filled in from --example or --input; inputs that\n"
    "come from an earlier step (a predictor's or tool's result) show as {name}.\n"
    "With --run, the program runs once on the inputs (as `dspcc eval` would:\n"
    "the LM is called, through the response cache) and every call it made is\n"
    "printed in order, each input filled in, exactly as it was sent.\n\n"
    "  --state FILE          an optimized state: its instructions, demos and lm\n"
    "  --predictor M.var     only this predictor (as named in the state and in\n"
    "                        `dspcc dump-ir`); its output has no heading line\n"
    "  --example N           the inputs of example N (0 is the first) of --data\n"
    "  --data NAME|PATH      a `data` declaration, or a .jsonl/.csv file\n"
    "  --data NAME=PATH      the file PATH read with declaration NAME's mapping\n"
    "  --input JSON          the module's inputs as one JSON object, e.g.\n"
    "                        '{\"ticket_text\": \"I was charged twice\"}'\n"
    "  --wire openai|anthropic|gemini|bedrock\n"
    "                        print each request body, one JSON line each, exactly\n"
    "                        as it is sent (the key travels in a header, never\n"
    "                        here; Gemini's and Bedrock's model is in the URL);\n"
    "                        another provider's wire shows what the same model\n"
    "                        would get from an lm declared with it (azure and the\n"
    "                        OpenAI-compatible presets speak openai's)\n"
    "  --module NAME         the module (default: the optimize block's, else the last\n"
    "                        module)\n"
    "  --run                 run the program on the inputs and print every LM\n"
    "                        call it made (later steps, react iterations, the\n"
    "                        JSON fallback), headed `=== call N: Module.var ...`;\n"
    "                        with --predictor, that predictor's calls, no headings\n"
    "  --base-url URL, --no-cache, --cache-dir DIR, --retries N, --timeout S\n"
    "                        as for `dspcc eval`: with --run, for its calls; without\n"
    "                        it, for the one call made (a knn_fewshot state's\n"
    "                        embeddings call, which finds the demos; the cache only\n"
    "                        with --cache-dir)\n\n"
    "Exit status: 0 printed, 1 errors, 2 bad usage.\n",
    run,
};
