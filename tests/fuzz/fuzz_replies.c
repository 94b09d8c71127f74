/* fuzz_replies.c — libFuzzer harness for everything that reads an LM
 * server's bytes: OpenAI, Anthropic, Gemini and Bedrock reply bodies
 * (lm_openai.c, lm_anthropic.c, lm_gemini.c, lm_bedrock.c), provider error bodies, the text of a reply read by
 * the chat and JSON adapters into typed outputs (adapter_*.c,
 * parse_typed.c), and streamed replies: OpenAI, Anthropic and Gemini
 * server-sent events (sse.c, lm_stream.c) fed in pieces, their text handed
 * to the field-by-field reader (field_stream.c). The first byte picks the
 * reader (200 and up: a stream, 190-199: a Gemini reply, 180-189: Bedrock's,
 * 170-179: an Anthropic turn with native tool calls), the rest is its input,
 * handed over as an exact-size heap copy so ASan sees any read past it.
 * A reader must end in a whole value or a clear error, never a crash, a
 * sanitizer report or a leak. Seeds: tests/fuzz/corpus/fuzz_replies. */
#include <stdint.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include "dsp/adapter.h"
#include "dsp/predict.h"
#include "../../runtime/src/field_stream.h"
#include "../../runtime/src/lm_stream.h"
#include "../../runtime/src/lm_wire.h"

static const char *const colors[] = {"red", "green", "blue"};
static const dsp_type color_t = {.kind = DSP_TYPE_ENUM, .enum_values = colors, .n_enum_values = 3};
static const dsp_type ints_t = {.kind = DSP_TYPE_LIST, .elem = &dsp_type_int};
static const dsp_type maybe_t = {.kind = DSP_TYPE_OPTIONAL, .elem = &dsp_type_string};
static const dsp_field outs[] = {
    {.name = "answer", .type = &dsp_type_string}, {.name = "n", .type = &dsp_type_int},
    {.name = "f", .type = &dsp_type_float},       {.name = "b", .type = &dsp_type_bool},
    {.name = "color", .type = &color_t},          {.name = "ids", .type = &ints_t},
    {.name = "note", .type = &maybe_t},
};
#define N_OUT (sizeof outs / sizeof outs[0])
static const dsp_field ins[] = {{.name = "q", .type = &dsp_type_string}};
static const dsp_signature sig = {
    .name = "Fuzz", .instructions = "Answer.", .inputs = ins, .n_inputs = 1, .outputs = outs, .n_outputs = N_OUT};

/* A broken promise: says which, and aborts (libFuzzer saves the input). */
#define die_if(bad)                                                                  \
    do {                                                                             \
        if (bad) {                                                                   \
            fprintf(stderr, "%s:%d: broken: %s\n", __FILE__, __LINE__, #bad);        \
            abort();                                                                 \
        }                                                                            \
    } while (0)

static void check_error(dsp_status st, const dsp_error *err)
{
    die_if(err->status != st || err->message[0] == '\0');
}

static void wire(int api, const char *body, size_t len)
{
    dsp_chat_response resp;
    memset(&resp, 0, sizeof resp);
    dsp_error err = {0};
    dsp_status st = api == 4   ? dsp_anthropic_parse_tool_turn(body, len, &resp, &err)
                    : api == 3 ? dsp_bedrock_parse_reply(body, len, &resp, &err)
                    : api == 2 ? dsp_gemini_parse_reply(body, len, &resp, &err)
                    : api == 1 ? dsp_anthropic_parse_reply(body, len, &resp, &err)
                               : dsp_openai_parse_reply(body, len, &resp, &err);
    if (st == DSP_OK) {
        die_if(resp.n_choices == 0 && resp.n_tool_calls == 0);
        for (size_t i = 0; i < resp.n_choices; i++)
            die_if(resp.choices[i] == NULL);
        /* A tool call may lack its id, name or arguments: kept as it came,
         * the agent loop answers it with an error observation. */
        die_if(resp.usage.prompt_tokens < 0 || resp.usage.completion_tokens < 0);
    } else {
        check_error(st, &err);
        die_if(resp.n_choices != 0 || resp.choices != NULL);
    }
    dsp_chat_response_free(&resp);
    dsp_error_clear(&err);
}

static void adapter(int json, const char *reply, size_t len)
{
    dsp_predictor pred = {.name = "fuzz", .signature = &sig, .strategy = DSP_STRATEGY_PREDICT};
    dsp_prompt_spec spec = dsp_prompt_spec_of(&pred, NULL);
    dsp_value got[N_OUT];
    memset(got, 0, sizeof got);
    dsp_error err = {0};
    dsp_status st = json ? dsp_json_adapter_parse(&spec, reply, len, got, &err)
                         : dsp_chat_adapter_parse(&spec, reply, len, got, &err);
    if (st == DSP_OK) {
        for (size_t k = 0; k < N_OUT; k++)
            die_if(got[k].kind != outs[k].type->kind);
        dsp_values_free(got, N_OUT);
    } else {
        check_error(st, &err);
    }
    dsp_error_clear(&err);
}

/* A stream of provider p fed in pieces of `step` bytes; its text goes to
 * a field reader of the signature, as dsp_predict_stream's does. */
static void stream(dsp_provider p, size_t step, const char *body, size_t len)
{
    dsp_predictor pred = {.name = "fuzz", .signature = &sig, .strategy = DSP_STRATEGY_CHAIN_OF_THOUGHT};
    dsp_prompt_spec spec = dsp_prompt_spec_of(&pred, NULL);
    static const dsp_stream_callbacks cb = {0};
    dsp_field_stream fs;
    dsp_error err = {0};
    if (dsp_field_stream_init(&fs, "fuzz", &spec, &cb, &err) != DSP_OK)
        return;
    dsp_stream_reader r;
    dsp_stream_reader_init(&r, p, dsp_field_stream_text, &fs);
    r.keys[0] = "sk-fuzz-0123456789";
    for (size_t i = 0; i < len; i += step)
        if (!dsp_stream_reader_feed(&r, body + i, i + step <= len ? step : len - i))
            break;
    dsp_chat_response resp;
    memset(&resp, 0, sizeof resp);
    dsp_status st = dsp_stream_reader_finish(&r, "http://fuzz/", &resp, &err);
    if (st == DSP_OK) {
        die_if(resp.n_choices != 1 || !resp.choices[0]);
        /* What was handed on is the reply (Anthropic's forced tool input
         * replaces text blocks before it, as in a plain reply). */
        if (p != DSP_PROVIDER_ANTHROPIC)
            die_if(strlen(resp.choices[0]) != fs.text.len ||
                   (fs.text.len && memcmp(resp.choices[0], fs.text.data, fs.text.len) != 0));
        die_if(strstr(resp.choices[0], "sk-fuzz-") != NULL);
    } else {
        check_error(st, &err);
        die_if(resp.choices != NULL);
    }
    dsp_error_clear(&err);
    (void)dsp_field_stream_finish(&fs, st == DSP_OK, NULL, &err);
    dsp_error_clear(&err);
    dsp_chat_response_free(&resp);
    dsp_stream_reader_free(&r);
    dsp_field_stream_free(&fs);
}

int LLVMFuzzerTestOneInput(const uint8_t *data, size_t size);

int LLVMFuzzerTestOneInput(const uint8_t *data, size_t size)
{
    if (size < 1)
        return 0;
    size_t len = size - 1;
    char *body = malloc(len ? len : 1);
    if (!body)
        return 0;
    memcpy(body, data + 1, len);
    if (data[0] >= 200) {
        static const dsp_provider ps[] = {DSP_PROVIDER_OPENAI, DSP_PROVIDER_ANTHROPIC, DSP_PROVIDER_GEMINI};
        unsigned k = data[0] - 200u;
        stream(ps[k % 3], 1 + k / 3 % 19, body, len);
        free(body);
        return 0;
    }
    if (data[0] >= 170) { /* 170-179: an Anthropic turn offered native tools,
                             180-189: a Bedrock Converse reply, 190-199: a Gemini one */
        wire(data[0] >= 190 ? 2 : data[0] >= 180 ? 3 : 4, body, len);
        free(body);
        return 0;
    }
    switch (data[0] % 5) {
    case 0: wire(0, body, len); break;
    case 1: wire(1, body, len); break;
    case 2: {
        char out[128];
        size_t outsz = 1 + (size_t)(data[0] / 5) % sizeof out;
        dsp_provider_error_message(body, len, out, outsz);
        die_if(memchr(out, '\0', outsz) == NULL);
        break;
    }
    case 3: adapter(0, body, len); break;
    default: adapter(1, body, len); break;
    }
    free(body);
    return 0;
}
