/* fuzz_redis.c — libFuzzer harness for what a shared Redis cache answers
 * (cache_remote.c): arbitrary bytes as the server's replies, read as
 * dsp_remote_cache_get reads them (hiredis's reader, the bound on a
 * reply's size) and each reply taken as the GETRANGE answer for a row
 * (only a string naming the key asked is a value), then read as a cache
 * row (cache.c) as a lookup reads it. The first byte seeds
 * the chunk sizes the bytes arrive in (1 to 64), the rest is the bytes.
 * A reply is read, needs more bytes or is refused with a reason; a value
 * is the row asked for; never a crash, a sanitizer report, a leak or an
 * allocation far larger than the bytes that came.
 * Seeds: tests/fuzz/corpus/fuzz_redis. */
#include <stdint.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include "../../runtime/src/cache.h"
#include "../../runtime/src/cache_remote.h"

/* A broken promise: says which, and aborts (libFuzzer saves the input). */
#define die_if(bad)                                                                  \
    do {                                                                             \
        if (bad) {                                                                   \
            fprintf(stderr, "%s:%d: broken: %s\n", __FILE__, __LINE__, #bad);        \
            abort();                                                                 \
        }                                                                            \
    } while (0)

#define KEY "abc123"

int LLVMFuzzerTestOneInput(const uint8_t *data, size_t size);

int LLVMFuzzerTestOneInput(const uint8_t *data, size_t size)
{
    if (size < 1)
        return 0;
    uint32_t state = data[0];
    const char *b = (const char *)data + 1;
    size_t len = size - 1;
    redisReader *rd = redisReaderCreate();
    if (!rd)
        return 0;
    char why[300];
    int verdict = 0;
    for (size_t i = 0; i < len && verdict >= 0;) {
        state = state * 1103515245u + 12345u;
        size_t k = 1 + (state >> 16) % 64;
        if (k > len - i)
            k = len - i;
        /* An exact-size copy: ASan sees a read past it. */
        char *chunk = malloc(k);
        if (!chunk)
            break;
        memcpy(chunk, b + i, k);
        int fed = redisReaderFeed(rd, chunk, k);
        free(chunk);
        i += k;
        if (fed != REDIS_OK)
            break;
        for (;;) {
            void *reply = NULL;
            why[0] = '\0';
            verdict = dsp_remote_reply_next(rd, &reply, why, sizeof why);
            if (verdict < 0)
                die_if(why[0] == '\0');
            if (verdict <= 0)
                break;
            char *value = dsp_remote_row_value(reply, KEY);
            if (value) {
                /* The row after its key's field: {"key":"KEY",REST is {REST. */
                const redisReply *r = reply;
                size_t head = strlen("{\"key\":\"" KEY "\",");
                die_if(r->type != REDIS_REPLY_STRING || r->len < head ||
                       strncmp(r->str, "{\"key\":\"" KEY "\",", head) != 0);
                die_if(value[0] != '{' || memcmp(value + 1, r->str + head, r->len - head) != 0 ||
                       value[r->len - head + 1] != '\0');
                /* Then read as a cache row, as dsp_cache_get_checked does. */
                dsp_chat_response resp;
                memset(&resp, 0, sizeof resp);
                if (dsp_cache_decode_row(value, (int)strlen(value), &resp)) {
                    die_if(resp.n_choices == 0 || resp.usage.prompt_tokens < 0 || resp.usage.completion_tokens < 0);
                    for (size_t c = 0; c < resp.n_choices; c++)
                        die_if(resp.choices[c] == NULL);
                    dsp_chat_response_free(&resp);
                } else {
                    die_if(resp.choices != NULL || resp.tool_calls != NULL || resp.n_choices || resp.n_tool_calls);
                }
                free(value);
            }
            freeReplyObject(reply);
        }
    }
    redisReaderFree(rd);
    return 0;
}
