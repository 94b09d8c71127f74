/* strfmt.c — printf-style formatting without vsnprintf's per-call setup
 * for the common conversions (see strfmt.h). Code generation formats
 * hundreds of thousands of short lines; glibc's vsnprintf spent most of
 * `dspcc build`'s instructions opening a string stream for each. */
#include "strfmt.h"

#include <stdint.h>
#include <stdio.h>
#include <string.h>

typedef struct out_buf {
    char *p;
    size_t cap, len; /* len counts every byte, written or not */
} out_buf;

static void put(out_buf *o, const char *s, size_t n)
{
    if (o->len < o->cap) {
        size_t room = o->cap - o->len;
        memcpy(o->p + o->len, s, n < room ? n : room);
    }
    o->len += n;
}

static void put_u(out_buf *o, unsigned long long v, int neg)
{
    char d[24];
    size_t at = sizeof d;
    do {
        d[--at] = (char)('0' + v % 10);
        v /= 10;
    } while (v);
    if (neg)
        d[--at] = '-';
    put(o, d + at, sizeof d - at);
}

static void put_signed(out_buf *o, long long v)
{
    /* The magnitude of LLONG_MIN does not fit a long long. */
    put_u(o, v < 0 ? 0ull - (unsigned long long)v : (unsigned long long)v, v < 0);
}

int strfmt_v(char *out, size_t cap, const char *fmt, va_list ap)
{
    va_list again;
    va_copy(again, ap);
    out_buf o = { out, cap ? cap - 1 : 0, 0 };
    for (const char *f = fmt; *f;) {
        const char *pct = strchr(f, '%');
        size_t lit = pct ? (size_t)(pct - f) : strlen(f);
        put(&o, f, lit);
        if (!pct)
            break;
        f = pct + 1;
        if (*f == '%') {
            put(&o, "%", 1);
            f++;
            continue;
        }
        if (f[0] == '.' && f[1] == '*' && f[2] == 's') {
            int prec = va_arg(ap, int);
            const char *s = va_arg(ap, const char *);
            if (!s || prec < 0)
                goto fallback; /* vsnprintf's own handling of these */
            size_t n = 0;
            while (n < (size_t)prec && s[n])
                n++;
            put(&o, s, n);
            f += 3;
            continue;
        }
        int longs = 0, size = 0;
        while (*f == 'l' && longs < 2)
            longs++, f++;
        if (!longs && *f == 'z')
            size = 1, f++;
        switch (*f) {
        case 's': {
            if (longs || size)
                goto fallback;
            const char *s = va_arg(ap, const char *);
            if (!s)
                goto fallback;
            put(&o, s, strlen(s));
            break;
        }
        case 'c':
            if (longs || size)
                goto fallback;
            put(&o, &(char){ (char)va_arg(ap, int) }, 1);
            break;
        case 'd':
        case 'i':
            if (size)
                put_signed(&o, (long long)va_arg(ap, ptrdiff_t));
            else if (longs == 2)
                put_signed(&o, va_arg(ap, long long));
            else if (longs == 1)
                put_signed(&o, va_arg(ap, long));
            else
                put_signed(&o, va_arg(ap, int));
            break;
        case 'u':
            if (size)
                put_u(&o, va_arg(ap, size_t), 0);
            else if (longs == 2)
                put_u(&o, va_arg(ap, unsigned long long), 0);
            else if (longs == 1)
                put_u(&o, va_arg(ap, unsigned long), 0);
            else
                put_u(&o, va_arg(ap, unsigned), 0);
            break;
        default:
            goto fallback;
        }
        f++;
    }
    if (cap)
        out[o.len < cap ? o.len : cap - 1] = '\0';
    va_end(again);
    return o.len > INT32_MAX ? -1 : (int)o.len;
fallback:;
    int n = vsnprintf(out, cap, fmt, again);
    va_end(again);
    return n;
}
