/* fuzz_embed.c — libFuzzer harness for embeddings replies (embed.c): the
 * body of a POST /v1/embeddings reply, and a cache row of one vector (the
 * local cache's, or a shared Redis cache's). The first byte picks which
 * (even: a reply, odd: a row), the rest is the text, handed over as an
 * exact-size heap copy. A reply read is one vector per item, each a row
 * that reads back; anything else is a clear DSP_ERR_PROTOCOL. Never a
 * crash, a sanitizer report or a leak.
 * Seeds: tests/fuzz/corpus/fuzz_embed. */
#include <stdint.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include "../../runtime/src/lm_wire.h"

/* A broken promise: says which, and aborts (libFuzzer saves the input). */
#define die_if(bad)                                                                  \
    do {                                                                             \
        if (bad) {                                                                   \
            fprintf(stderr, "%s:%d: broken: %s\n", __FILE__, __LINE__, #bad);        \
            abort();                                                                 \
        }                                                                            \
    } while (0)

static void reply(const char *body, size_t len)
{
    dsp_chat_response resp;
    memset(&resp, 0, sizeof resp);
    dsp_error err = {0};
    dsp_status st = dsp_embed_parse_reply(body, len, &resp, &err);
    if (st == DSP_OK) {
        die_if(resp.n_choices == 0 || resp.usage.prompt_tokens < 0);
        for (size_t i = 0; i < resp.n_choices; i++) {
            die_if(resp.choices[i] == NULL);
            /* What is cached reads back as a vector. */
            char *one[1] = {resp.choices[i]};
            dsp_chat_response row = {.choices = one, .n_choices = 1};
            die_if(!dsp_embed_row_usable(NULL, &row));
        }
    } else {
        die_if(st != DSP_ERR_PROTOCOL || err.status != st || err.message[0] == '\0');
        die_if(resp.choices != NULL || resp.n_choices != 0);
    }
    dsp_chat_response_free(&resp);
    dsp_error_clear(&err);
}

static void row(const char *text)
{
    char *one[1] = {(char *)text};
    dsp_chat_response r = {.choices = one, .n_choices = 1};
    (void)dsp_embed_row_usable(NULL, &r);
}

int LLVMFuzzerTestOneInput(const uint8_t *data, size_t size);

int LLVMFuzzerTestOneInput(const uint8_t *data, size_t size)
{
    if (size < 1)
        return 0;
    size_t len = size - 1;
    char *body = malloc(len + 1);
    if (!body)
        return 0;
    memcpy(body, data + 1, len);
    body[len] = '\0'; /* a row is a C string, as the cache hands it over */
    if (data[0] & 1)
        row(body);
    else
        reply(body, len);
    free(body);
    return 0;
}
