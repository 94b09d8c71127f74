/* sse.c — server-sent events, parsed incrementally (see sse.h). */
#include "sse.h"

#include <string.h>

void dsp_sse_init(dsp_sse *s, dsp_sse_event_fn fn, void *ctx)
{
    memset(s, 0, sizeof *s);
    /* fn, not on_event: with --embed-runtime, lm_stream.c's function of
     * that name is in scope here (-Wshadow). */
    s->on_event = fn;
    s->ctx = ctx;
    dsp_tb_init(&s->line);
    dsp_tb_init(&s->event);
    dsp_tb_init(&s->data);
}

void dsp_sse_free(dsp_sse *s)
{
    dsp_tb_free(&s->line);
    dsp_tb_free(&s->event);
    dsp_tb_free(&s->data);
}

/* The standard's "dispatch the event": the data without its last LF. */
static int dispatch(dsp_sse *s)
{
    int rc = 0;
    if (s->has_data) {
        size_t len = s->data.len;
        if (len && s->data.data[len - 1] == '\n')
            s->data.data[--len] = '\0';
        const char *event = s->event.len ? s->event.data : "message";
        rc = s->on_event(s->ctx, event, len ? s->data.data : "", len);
    }
    s->data.len = 0;
    s->event.len = 0;
    s->has_data = false;
    return rc;
}

/* One complete line (without its end). */
static int sse_line(dsp_sse *s, const char *l, size_t n)
{
    if (n == 0)
        return dispatch(s);
    if (l[0] == ':')
        return 0; /* a comment: servers send them to keep a connection alive */
    const char *colon = memchr(l, ':', n);
    size_t name_len = colon ? (size_t)(colon - l) : n;
    const char *value = colon ? colon + 1 : l + n;
    size_t value_len = (size_t)(l + n - value);
    if (value_len && value[0] == ' ') {
        value++;
        value_len--;
    }
    if (name_len == 4 && memcmp(l, "data", 4) == 0) {
        dsp_tb_put(&s->data, value, value_len);
        dsp_tb_put(&s->data, "\n", 1);
        s->has_data = true;
    } else if (name_len == 5 && memcmp(l, "event", 5) == 0) {
        s->event.len = 0;
        dsp_tb_put(&s->event, value, value_len);
    }
    /* id and retry matter to a browser reconnecting; other fields are to
     * be ignored. */
    return dsp_tb_ok(&s->data) && dsp_tb_ok(&s->event) ? 0 : -1;
}

int dsp_sse_feed(dsp_sse *s, const char *bytes, size_t n)
{
    if (s->stopped)
        return s->stopped;
    const char *p = bytes, *end = bytes + n;
    if (!s->started && n) {
        /* A byte-order mark opens the stream at most once; it may itself
         * come in pieces, so it is matched against what the line holds. */
        static const char bom[] = "\xEF\xBB\xBF";
        while (p < end && s->line.len < 3 && (unsigned char)*p == (unsigned char)bom[s->line.len]) {
            dsp_tb_put(&s->line, p, 1);
            p++;
        }
        if (s->line.len == 3)
            s->line.len = 0; /* the whole mark: dropped */
        if (p < end || s->line.len == 0)
            s->started = true;
        else
            return 0; /* all bytes so far may be a mark */
    }
    while (p < end) {
        if (s->after_cr && *p == '\n') {
            s->after_cr = false;
            p++;
            continue;
        }
        s->after_cr = false;
        const char *q = p;
        while (q < end && *q != '\n' && *q != '\r')
            q++;
        if (q == end) {
            dsp_tb_put(&s->line, p, (size_t)(q - p));
            break;
        }
        int rc;
        if (s->line.len) {
            dsp_tb_put(&s->line, p, (size_t)(q - p));
            rc = dsp_tb_ok(&s->line) ? sse_line(s, s->line.data, s->line.len) : -1;
            s->line.len = 0;
        } else {
            rc = sse_line(s, p, (size_t)(q - p)); /* the whole line is here: no copy */
        }
        s->after_cr = *q == '\r';
        p = q + 1;
        if (rc) {
            s->stopped = rc;
            return rc;
        }
    }
    if (!dsp_tb_ok(&s->line))
        return s->stopped = -1;
    return 0;
}
