/* textbuf.c — growable byte buffer and error-message quoting. */
#include "textbuf.h"

#include <stdarg.h>
#include <stdint.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

void dsp_tb_init(dsp_textbuf *b)
{
    memset(b, 0, sizeof *b);
}

void dsp_tb_init_in(dsp_textbuf *b, char *store, size_t cap)
{
    memset(b, 0, sizeof *b);
    if (!store || cap == 0)
        return; /* no room even for the NUL: a heap-only buffer */
    b->data = b->store = store;
    b->cap = b->store_cap = cap;
    store[0] = '\0';
}

void dsp_tb_free(dsp_textbuf *b)
{
    if (b->data != b->store)
        free(b->data);
    memset(b, 0, sizeof *b);
}

/* Empty again, in the caller's storage when there is one. */
static void restart(dsp_textbuf *b)
{
    char *store = b->store;
    size_t store_cap = b->store_cap;
    memset(b, 0, sizeof *b);
    if (store)
        dsp_tb_init_in(b, store, store_cap);
}

static bool reserve(dsp_textbuf *b, size_t extra)
{
    if (b->failed)
        return false;
    if (extra > SIZE_MAX - b->len - 1) {
        b->failed = true;
        return false;
    }
    size_t need = b->len + extra + 1;
    if (need <= b->cap)
        return true;
    /* 1 KiB to start: a prompt message (the usual text built here) then
     * grows once or not at all, instead of three times from a few bytes. */
    size_t cap = b->cap ? b->cap : 1024;
    while (cap < need)
        cap = cap > SIZE_MAX / 2 ? need : cap * 2;
    char *data;
    if (b->data && b->data == b->store) {
        /* Leaving the caller's storage: it is not ours to realloc. */
        data = malloc(cap);
        if (data)
            memcpy(data, b->data, b->len + 1);
    } else {
        data = realloc(b->data, cap);
    }
    if (!data) {
        b->failed = true;
        return false;
    }
    b->data = data;
    b->cap = cap;
    return true;
}

void dsp_tb_put_slow(dsp_textbuf *b, const char *s, size_t n)
{
    if (!reserve(b, n))
        return;
    if (n)
        memcpy(b->data + b->len, s, n);
    b->len += n;
    b->data[b->len] = '\0';
}

void dsp_tb_printf(dsp_textbuf *b, const char *fmt, ...)
{
    if (b->failed)
        return;
    /* Format straight into the free space; only a result that does not fit
     * costs a second pass (rendering is on every call's path). */
    size_t room = b->cap > b->len ? b->cap - b->len : 0;
    va_list ap;
    va_start(ap, fmt);
    int n = vsnprintf(room ? b->data + b->len : NULL, room, fmt, ap);
    va_end(ap);
    if (n < 0) {
        b->failed = true;
        return;
    }
    if ((size_t)n >= room) {
        if (!reserve(b, (size_t)n))
            return;
        va_start(ap, fmt);
        vsnprintf(b->data + b->len, (size_t)n + 1, fmt, ap);
        va_end(ap);
    }
    b->len += (size_t)n;
}

void dsp_tb_putu(dsp_textbuf *b, size_t u)
{
    char digits[24];
    size_t i = sizeof digits;
    do {
        digits[--i] = (char)('0' + u % 10);
        u /= 10;
    } while (u);
    dsp_tb_put(b, digits + i, sizeof digits - i);
}

char *dsp_tb_take(dsp_textbuf *b, size_t *len)
{
    if (b->failed) {
        dsp_tb_free(b);
        return NULL;
    }
    if (!b->data && !reserve(b, 0)) {
        dsp_tb_free(b);
        return NULL;
    }
    char *out = b->data;
    out[b->len] = '\0';
    if (out == b->store) {
        out = malloc(b->len + 1);
        if (!out) {
            dsp_tb_free(b);
            return NULL;
        }
        memcpy(out, b->data, b->len + 1);
    } else if (b->cap - b->len > 256) {
        /* Kept text (a prompt's message, held while its request waits)
         * gives back the room it grew into. */
        char *fit = realloc(out, b->len + 1);
        if (fit)
            out = fit;
    }
    if (len)
        *len = b->len;
    restart(b);
    return out;
}

void dsp_quote_excerpt(const char *s, size_t n, size_t max, char *out, size_t out_size)
{
    size_t o = 0;
    bool cut = n > max;
    if (out_size == 0)
        return;
    for (size_t i = 0; i < n && i < max; i++) {
        unsigned char c = (unsigned char)s[i];
        char tmp[8];
        size_t k;
        if (c == '\n')
            k = (size_t)snprintf(tmp, sizeof tmp, "\\n");
        else if (c == '"' || c == '\\')
            k = (size_t)snprintf(tmp, sizeof tmp, "\\%c", c);
        else if (c < 0x20 || c == 0x7f)
            k = (size_t)snprintf(tmp, sizeof tmp, "\\x%02x", c);
        else {
            tmp[0] = (char)c;
            k = 1;
        }
        if (o + k + 4 >= out_size) {
            cut = true;
            break;
        }
        memcpy(out + o, tmp, k);
        o += k;
    }
    if (cut && o + 4 <= out_size) {
        memcpy(out + o, "...", 3);
        o += 3;
    }
    out[o] = '\0';
}
