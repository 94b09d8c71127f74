/* fuzz_batch.c — libFuzzer harness for batch result files (lm_batch.c):
 * the JSONL a provider's batch API or vLLM's batch runner writes, read
 * against the requests a run deferred. The first byte picks the reader
 * (0: `dspcc eval --batch-import`'s dsp_lm_batch_import, 1: an OpenAI
 * batch's result file, 2: an Anthropic message batch's results), the rest
 * is the file, handed over as an exact-size heap copy. Three requests are
 * pending (custom_id k0, k1, k2). Whatever the file holds, each reply
 * taken for a pending request is whole (a choice, usage not
 * negative), a bad line is a clear error naming its line,
 * and nothing crashes, trips a sanitizer or leaks.
 * Seeds: tests/fuzz/corpus/fuzz_batch. */
#include <stdint.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include "dsp/lm_batch.h"
#include "../../runtime/src/lm_batch_int.h"

/* A broken promise: says which, and aborts (libFuzzer saves the input). */
#define die_if(bad)                                                                  \
    do {                                                                             \
        if (bad) {                                                                   \
            fprintf(stderr, "%s:%d: broken: %s\n", __FILE__, __LINE__, #bad);        \
            abort();                                                                 \
        }                                                                            \
    } while (0)

static const char *const keys[] = {"k0", "k1", "k2"};
#define N_KEYS (sizeof keys / sizeof keys[0])

int LLVMFuzzerTestOneInput(const uint8_t *data, size_t size);

int LLVMFuzzerTestOneInput(const uint8_t *data, size_t size)
{
    if (size < 1)
        return 0;
    unsigned mode = data[0] % 3;
    size_t len = size - 1;
    char *text = malloc(len ? len : 1);
    if (!text)
        return 0;
    memcpy(text, data + 1, len);
    dsp_lm_batch *b = NULL;
    dsp_error err = {0};
    if (dsp_lm_batch_new(&b, &err) != DSP_OK) {
        free(text);
        return 0;
    }
    for (size_t i = 0; i < N_KEYS; i++) {
        static const char body[] = "{\"model\":\"m\",\"messages\":[]}";
        dsp_lm_batch_call call = {.anthropic = mode == 2,
                                  .url = "http://fuzz/v1/chat/completions",
                                  .model_spec = "openai/m",
                                  .key = keys[i],
                                  .body = body,
                                  .len = sizeof body - 1};
        die_if(dsp_lm_batch_defer(b, &call, &err) != DSP_OK);
    }
    size_t ok = 0, failed = 0;
    if (mode == 0) {
        dsp_lm_batch_import_report rep;
        dsp_status st = dsp_lm_batch_import(b, "fuzz.jsonl", text, len, &rep, &err);
        if (st == DSP_OK) {
            ok = rep.replies;
            failed = rep.failed;
            die_if(rep.missing != dsp_lm_batch_pending(b) || rep.missing > N_KEYS);
        } else {
            die_if(st != DSP_ERR_PARSE || err.status != st || strncmp(err.message, "fuzz.jsonl:", 11) != 0);
            /* A bad line keeps nothing of the file. */
            die_if(dsp_lm_batch_pending(b) != N_KEYS);
            for (size_t i = 0; i < N_KEYS; i++)
                die_if(dsp_lm_batch_failed(b, keys[i]));
        }
    } else {
        die_if(!dsp_lm_batch_read_results(b, mode == 2, text, len, &ok, &failed));
    }
    /* Each reply kept is whole. */
    size_t taken = 0;
    for (size_t i = 0; i < N_KEYS; i++) {
        dsp_chat_response resp;
        memset(&resp, 0, sizeof resp);
        if (!dsp_lm_batch_take(b, keys[i], &resp))
            continue;
        taken++;
        die_if(resp.n_choices == 0 || resp.usage.prompt_tokens < 0 || resp.usage.completion_tokens < 0);
        for (size_t k = 0; k < resp.n_choices; k++)
            die_if(resp.choices[k] == NULL);
        dsp_chat_response_free(&resp);
    }
    die_if(taken > ok);
    dsp_error_clear(&err);
    dsp_lm_batch_free(b);
    free(text);
    return 0;
}
