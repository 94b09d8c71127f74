/* options.h — command line of dsp-refserver. */
#ifndef RS_OPTIONS_H
#define RS_OPTIONS_H

#include <stdbool.h>
#include <stddef.h>
#include <stdint.h>

typedef enum rs_fault {
    RS_FAULT_NONE = 0,
    RS_FAULT_429,
    RS_FAULT_500,
    RS_FAULT_503,
    RS_FAULT_HANG,
    RS_FAULT_TRUNCATE,
    RS_FAULT_BADJSON,
    RS_FAULT_MISSING_FIELD,
    RS_FAULT_WRONG_TYPE,
    /* Only when named in --fail-kinds: a 200 reply of --oversize-bytes
     * bytes, announced by Content-Length or sent chunked without one. */
    RS_FAULT_OVERSIZE,
    RS_FAULT_OVERSIZE_CHUNKED,
    /* Only when named: a 500 whose error message carries terminal escape
     * sequences (a hostile server's), which clients must not print raw. */
    RS_FAULT_ESCAPE,
    RS_FAULT_COUNT
} rs_fault;

/* The kinds --fail-kinds defaults to: 429 up to wrong-type. */
#define RS_FAULT_LAST_DEFAULT RS_FAULT_WRONG_TYPE

typedef enum rs_echo {
    RS_ECHO_NONE = 0,
    RS_ECHO_ERROR, /* every chat request: 401 quoting the key, cut short */
    RS_ECHO_REPLY, /* every chat reply holds the key */
    RS_ECHO_BATCH  /* every new batch's id holds the key */
} rs_echo;

#define RS_MAX_LORA_OPTS 16

typedef struct rs_options {
    unsigned port;            /* 0: any free port */
    unsigned threads;         /* worker threads of the HTTP server */
    unsigned latency_ms;      /* added before every chat reply */
    unsigned jitter_ms;       /* plus a uniform 0..jitter */
    double fail_rate;         /* share of chat requests that get a fault */
    rs_fault kinds[RS_FAULT_COUNT];
    size_t n_kinds;
    uint64_t seed;
    const char *log_path;     /* NULL: no request log */
    unsigned hang_ms;         /* how long a "hang" holds the connection */
    unsigned retry_after_ms;  /* what a 429 asks the client to wait */
    unsigned max_concurrent;  /* > 0: chat requests past this many at once get 429 */
    unsigned max_connections; /* libmicrohttpd's connection limit */
    uint64_t oversize_bytes;  /* the size of an oversize reply */
    size_t max_body;          /* bigger request bodies get 413 */
    unsigned ft_delay_ms;     /* a fine-tuning job's time from creation to success */
    const char *state_dir;    /* NULL: fine-tuning files and jobs do not persist */
    unsigned batch_delay_ms;  /* a batch's time from creation to its end (batch_api.h) */
    double batch_error_rate;  /* share of batched requests that end errored */
    double batch_expire_rate; /* share of batched requests that expire */
    double batch_garbage_rate; /* share of batched requests whose result line is damaged */
    rs_echo echo_key;         /* quote the request's API key back (hostile.c) */
    bool batch_escape;        /* a running batch's status holds a terminal escape sequence */
    bool inject_nul;          /* a NUL character (\u0000) in every reply's text (hostile.c) */
    unsigned tool_call_faults; /* native tool calling: damaged calls in the first N steps (wire_tools.c) */
    const char *loras[RS_MAX_LORA_OPTS]; /* --lora NAME=PATH, in order */
    size_t n_loras;
} rs_options;

/* 0: run; 1: exit 0 (--help printed); 2: usage error (message printed). */
int rs_options_parse(int argc, char **argv, rs_options *o);

const char *rs_fault_name(rs_fault f);

#endif
