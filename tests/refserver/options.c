/* options.c — command line of dsp-refserver (see options.h). */
#include "options.h"

#include <errno.h>
#include <getopt.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

static const char *const k_fault_names[RS_FAULT_COUNT] = {
    "none", "429", "500", "503", "hang", "truncate", "badjson", "missing-field", "wrong-type", "oversize",
    "oversize-chunked", "escape",
};

const char *rs_fault_name(rs_fault f)
{
    return (unsigned)f < RS_FAULT_COUNT ? k_fault_names[f] : "?";
}

static void usage(FILE *out)
{
    fputs(
        "usage: dsp-refserver [options]\n"
        "\n"
        "A TEST FIXTURE, not a language model: a deterministic in-context learner\n"
        "that speaks the OpenAI (/v1/chat/completions, /v1/embeddings, /v1/models,\n"
        "/v1/files, /v1/fine_tuning/jobs) and Anthropic (/v1/messages) wire formats on\n"
        "127.0.0.1, for dspcc's tests, demos and benchmarks. It reads prompts in\n"
        "dspcc's chat format and answers from the demos and label hints it is\n"
        "shown; its \"fine-tuned\" models also recall their training examples as\n"
        "demos; its embeddings are hashed bag-of-words vectors (see docs/refserver.md).\n"
        "\n"
        "  --port N              port on 127.0.0.1 (0, the default: a free port);\n"
        "                        the port is printed alone on the first line of stdout\n"
        "  --threads N           HTTP worker threads (default 2)\n"
        "  --latency-ms N[:J]    wait N ms (plus 0..J ms of jitter) before each reply\n"
        "  --fail-rate P         share of chat requests (0..1) that get a fault\n"
        "  --fail-kinds LIST     comma list among 429,500,503,hang,truncate,badjson,\n"
        "                        missing-field,wrong-type (default: these), and\n"
        "                        oversize,oversize-chunked (a huge 200 reply, with and\n"
        "                        without Content-Length; only when named), escape (a\n"
        "                        500 whose message holds terminal escapes; when named)\n"
        "  --oversize-bytes N    the size of an oversize reply (default 100000000)\n"
        "  --hang-ms N           how long a hang holds the connection (default 10000)\n"
        "  --retry-after-ms N    the wait a 429 asks for (default 1000)\n"
        "  --max-concurrent N    a rate limit: a chat request that finds N others in\n"
        "                        the server (latency included) gets 429 at once,\n"
        "                        rate_limit_exceeded with Retry-After (default 0: none)\n"
        "  --max-connections N   connections held at once (default 4000)\n"
        "  --seed N              seed of faults and sampling (default 0)\n"
        "  --log FILE            one JSON line per request (no credentials)\n"
        "  --max-body-bytes N    bigger bodies get 413 (default 8388608)\n"
        "  --ft-delay-ms N       a fine-tuning job validates for N/3 ms, then runs\n"
        "                        until N ms after its creation (default 1500)\n"
        "  --batch-delay-ms N    a batch (OpenAI's /v1/batches, Anthropic's\n"
        "                        /v1/messages/batches) ends N ms after its creation\n"
        "                        (default 300)\n"
        "  --batch-error-rate P  share of batched requests (0..1) that end errored\n"
        "  --batch-expire-rate P share of batched requests (0..1) that expire\n"
        "  --batch-garbage-rate P share of batched requests (0..1) whose result\n"
        "                        line is damaged: cut off (not JSON), or a reply\n"
        "                        that does not follow the API, in turn\n"
        "  --state-dir DIR       keep fine-tuning files and jobs in DIR, so a\n"
        "                        restarted fixture still serves its fine-tuned models\n"
        "  --echo-key MODE       quote the request's API key back, as a broken or\n"
        "                        hostile server might: error (401 quoting it cut at\n"
        "                        200 bytes), reply (inside every chat reply) or\n"
        "                        batch (inside every new batch's id)\n"
        "  --batch-escape        a running batch's status carries a terminal escape\n"
        "                        sequence (ESC ]0;...BEL), as a hostile server's might\n"
        "  --inject-nul          end the first field of every chat reply with\n"
        "                        \\u0000hacked (a NUL character, as JSON escapes it)\n"
        "  --tool-call-faults N  native tool calling: the first N steps of every\n"
        "                        conversation get a damaged tool call, in turn:\n"
        "                        arguments that are not JSON (OpenAI; Anthropic: an\n"
        "                        unknown tool), an unknown tool, a call without an id\n"
        "  --lora NAME=PATH      serve the LoRA adapter at PATH (what tiny_trainer.sh\n"
        "                        writes) as NAME, id 0, 1, ... in order; repeatable.\n"
        "                        POST /v1/load_lora_adapter adds more at run time\n"
        "  --help                this text\n"
        "\n"
        "Stops cleanly on SIGTERM or SIGINT.\n",
        out);
}

static bool parse_uint(const char *s, unsigned long long max, unsigned long long *out)
{
    if (!s || !*s || *s == '-')
        return false;
    char *end;
    errno = 0;
    unsigned long long v = strtoull(s, &end, 10);
    if (errno || *end || v > max)
        return false;
    *out = v;
    return true;
}

static bool parse_kinds(const char *s, rs_options *o)
{
    o->n_kinds = 0;
    char buf[256];
    if (strlen(s) >= sizeof buf)
        return false;
    strcpy(buf, s);
    char *save = NULL;
    for (char *tok = strtok_r(buf, ",", &save); tok; tok = strtok_r(NULL, ",", &save)) {
        rs_fault f = RS_FAULT_NONE;
        for (int i = 1; i < RS_FAULT_COUNT; i++)
            if (strcmp(tok, k_fault_names[i]) == 0)
                f = (rs_fault)i;
        if (f == RS_FAULT_NONE || o->n_kinds == RS_FAULT_COUNT)
            return false;
        o->kinds[o->n_kinds++] = f;
    }
    return o->n_kinds > 0;
}

static int bad(const char *opt, const char *val, const char *want)
{
    fprintf(stderr, "dsp-refserver: invalid %s '%s': expected %s (see --help)\n", opt, val ? val : "",
            want);
    return 2;
}

int rs_options_parse(int argc, char **argv, rs_options *o)
{
    memset(o, 0, sizeof *o);
    o->threads = 2;
    o->hang_ms = 10000;
    o->retry_after_ms = 1000;
    o->max_body = 8u << 20;
    o->ft_delay_ms = 1500;
    o->batch_delay_ms = 300;
    o->oversize_bytes = 100000000;
    o->max_connections = 4000;
    for (int i = 1; i <= RS_FAULT_LAST_DEFAULT; i++)
        o->kinds[o->n_kinds++] = (rs_fault)i;

    enum { O_PORT = 256, O_THREADS, O_LAT, O_RATE, O_KINDS, O_HANG, O_RETRY, O_SEED, O_LOG, O_BODY, O_FT_DELAY, O_STATE, O_ECHO, O_OVERSIZE, O_NUL, O_LORA, O_TOOL_FAULTS, O_MAXCONC, O_MAXCONN, O_BDELAY, O_BERR, O_BEXP, O_BGARB, O_BESC, O_HELP };
    static const struct option longs[] = {
        {"port", required_argument, NULL, O_PORT},
        {"threads", required_argument, NULL, O_THREADS},
        {"latency-ms", required_argument, NULL, O_LAT},
        {"fail-rate", required_argument, NULL, O_RATE},
        {"fail-kinds", required_argument, NULL, O_KINDS},
        {"hang-ms", required_argument, NULL, O_HANG},
        {"retry-after-ms", required_argument, NULL, O_RETRY},
        {"seed", required_argument, NULL, O_SEED},
        {"log", required_argument, NULL, O_LOG},
        {"max-body-bytes", required_argument, NULL, O_BODY},
        {"ft-delay-ms", required_argument, NULL, O_FT_DELAY},
        {"batch-delay-ms", required_argument, NULL, O_BDELAY},
        {"batch-error-rate", required_argument, NULL, O_BERR},
        {"batch-expire-rate", required_argument, NULL, O_BEXP},
        {"batch-garbage-rate", required_argument, NULL, O_BGARB},
        {"state-dir", required_argument, NULL, O_STATE},
        {"echo-key", required_argument, NULL, O_ECHO},
        {"oversize-bytes", required_argument, NULL, O_OVERSIZE},
        {"inject-nul", no_argument, NULL, O_NUL},
        {"batch-escape", no_argument, NULL, O_BESC},
        {"tool-call-faults", required_argument, NULL, O_TOOL_FAULTS},
        {"lora", required_argument, NULL, O_LORA},
        {"max-concurrent", required_argument, NULL, O_MAXCONC},
        {"max-connections", required_argument, NULL, O_MAXCONN},
        {"help", no_argument, NULL, O_HELP},
        {NULL, 0, NULL, 0},
    };
    optind = 1;
    opterr = 0;
    int c;
    unsigned long long v;
    while ((c = getopt_long(argc, argv, "", longs, NULL)) != -1) {
        switch (c) {
        case O_PORT:
            if (!parse_uint(optarg, 65535, &v))
                return bad("--port", optarg, "0..65535");
            o->port = (unsigned)v;
            break;
        case O_THREADS:
            if (!parse_uint(optarg, 64, &v) || v == 0)
                return bad("--threads", optarg, "1..64");
            o->threads = (unsigned)v;
            break;
        case O_LAT: {
            char buf[64];
            if (strlen(optarg) >= sizeof buf)
                return bad("--latency-ms", optarg, "N or N:JITTER in milliseconds");
            strcpy(buf, optarg);
            char *colon = strchr(buf, ':');
            if (colon)
                *colon = '\0';
            if (!parse_uint(buf, 600000, &v))
                return bad("--latency-ms", optarg, "N or N:JITTER in milliseconds");
            o->latency_ms = (unsigned)v;
            if (colon) {
                if (!parse_uint(colon + 1, 600000, &v))
                    return bad("--latency-ms", optarg, "N or N:JITTER in milliseconds");
                o->jitter_ms = (unsigned)v;
            }
            break;
        }
        case O_RATE:
        case O_BERR:
        case O_BEXP:
        case O_BGARB: {
            const char *name = c == O_RATE   ? "--fail-rate"
                               : c == O_BERR ? "--batch-error-rate"
                               : c == O_BEXP ? "--batch-expire-rate"
                                             : "--batch-garbage-rate";
            char *end;
            errno = 0;
            double p = strtod(optarg, &end);
            if (errno || end == optarg || *end || !(p >= 0 && p <= 1))
                return bad(name, optarg, "a number from 0 to 1");
            *(c == O_RATE   ? &o->fail_rate
              : c == O_BERR ? &o->batch_error_rate
              : c == O_BEXP ? &o->batch_expire_rate
                            : &o->batch_garbage_rate) = p;
            break;
        }
        case O_KINDS:
            if (!parse_kinds(optarg, o))
                return bad("--fail-kinds", optarg,
                           "a comma list among 429,500,503,hang,truncate,badjson,missing-field,wrong-type,"
                           "oversize,oversize-chunked,escape");
            break;
        case O_HANG:
            if (!parse_uint(optarg, 600000, &v))
                return bad("--hang-ms", optarg, "milliseconds up to 600000");
            o->hang_ms = (unsigned)v;
            break;
        case O_RETRY:
            if (!parse_uint(optarg, 600000, &v))
                return bad("--retry-after-ms", optarg, "milliseconds up to 600000");
            o->retry_after_ms = (unsigned)v;
            break;
        case O_SEED:
            if (!parse_uint(optarg, UINT64_MAX, &v))
                return bad("--seed", optarg, "a non-negative integer");
            o->seed = v;
            break;
        case O_LOG:
            o->log_path = optarg;
            break;
        case O_BODY:
            if (!parse_uint(optarg, (size_t)1 << 30, &v) || v < 1024)
                return bad("--max-body-bytes", optarg, "1024..1073741824");
            o->max_body = (size_t)v;
            break;
        case O_BDELAY:
            if (!parse_uint(optarg, 3600000, &v))
                return bad("--batch-delay-ms", optarg, "milliseconds up to 3600000");
            o->batch_delay_ms = (unsigned)v;
            break;
        case O_FT_DELAY:
            if (!parse_uint(optarg, 3600000, &v))
                return bad("--ft-delay-ms", optarg, "milliseconds up to 3600000");
            o->ft_delay_ms = (unsigned)v;
            break;
        case O_STATE:
            if (!*optarg)
                return bad("--state-dir", optarg, "a directory");
            o->state_dir = optarg;
            break;
        case O_ECHO:
            if (strcmp(optarg, "error") == 0)
                o->echo_key = RS_ECHO_ERROR;
            else if (strcmp(optarg, "reply") == 0)
                o->echo_key = RS_ECHO_REPLY;
            else if (strcmp(optarg, "batch") == 0)
                o->echo_key = RS_ECHO_BATCH;
            else
                return bad("--echo-key", optarg, "error, reply or batch");
            break;
        case O_OVERSIZE:
            if (!parse_uint(optarg, 1ull << 40, &v) || v == 0)
                return bad("--oversize-bytes", optarg, "1..2^40");
            o->oversize_bytes = v;
            break;
        case O_BESC:
            o->batch_escape = true;
            break;
        case O_NUL:
            o->inject_nul = true;
            break;
        case O_TOOL_FAULTS:
            if (!parse_uint(optarg, 100, &v))
                return bad("--tool-call-faults", optarg, "a number of steps, 0 to 100");
            o->tool_call_faults = (unsigned)v;
            break;
        case O_LORA:
            if (!strchr(optarg, '=') || optarg[0] == '=' || !strchr(optarg, '=')[1])
                return bad("--lora", optarg, "NAME=PATH");
            if (o->n_loras == RS_MAX_LORA_OPTS)
                return bad("--lora", optarg, "at most 16 adapters at start-up");
            o->loras[o->n_loras++] = optarg;
            break;
        case O_MAXCONC:
            if (!parse_uint(optarg, 1000000, &v))
                return bad("--max-concurrent", optarg, "a count up to 1000000 (0: no limit)");
            o->max_concurrent = (unsigned)v;
            break;
        case O_MAXCONN:
            if (!parse_uint(optarg, 1000000, &v) || v == 0)
                return bad("--max-connections", optarg, "1..1000000");
            o->max_connections = (unsigned)v;
            break;
        case O_HELP:
            usage(stdout);
            return 1;
        default:
            fprintf(stderr, "dsp-refserver: unknown or incomplete option '%s' (see --help)\n",
                    argv[optind - 1]);
            return 2;
        }
    }
    if (optind < argc) {
        fprintf(stderr, "dsp-refserver: unexpected argument '%s' (see --help)\n", argv[optind]);
        return 2;
    }
    return 0;
}
