/* fuzz_cheader.c — libFuzzer harness for the C header reader
 * (grammar/cheader.c, csource.c): a tool's header of any bytes, its
 * prototype and the structs it reaches mapped to .dsp types. The input's
 * first line is the function to look up, the rest is the header's text
 * (read as a .dsp file's inline prototype is, from memory). The mapping
 * ends in a prototype whose every struct member and parameter has a .dsp
 * type, or a diagnostic naming a place in the header; never a crash, a
 * sanitizer report, a leak or a hang. Seeds: tests/fuzz/corpus/fuzz_cheader. */
#include <stdint.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include "cheader.h"

/* A broken promise: says which, and aborts (libFuzzer saves the input). */
#define die_if(bad)                                                                  \
    do {                                                                             \
        if (bad) {                                                                   \
            fprintf(stderr, "%s:%d: broken: %s\n", __FILE__, __LINE__, #bad);        \
            abort();                                                                 \
        }                                                                            \
    } while (0)

static void check_struct(const ch_struct *st)
{
    die_if(!st || !st->record || !st->c_name || !st->file);
    for (size_t i = 0; i < st->n_members; i++) {
        const ch_member *m = &st->members[i];
        die_if(!m->name || !m->c_type);
        if ((m->kind == CH_RECORD || m->kind == CH_OPTIONAL || (m->kind == CH_LIST && m->elem == CH_RECORD)))
            die_if(!m->st);
        char buf[128];
        ch_dsp_type_st(m->kind, m->elem, m->st, buf, sizeof buf);
        die_if(memchr(buf, '\0', sizeof buf) == NULL);
    }
}

int LLVMFuzzerTestOneInput(const uint8_t *data, size_t size);

int LLVMFuzzerTestOneInput(const uint8_t *data, size_t size)
{
    const uint8_t *nl = memchr(data, '\n', size);
    if (!nl || (size_t)(nl - data) > 200)
        return 0;
    char name[201];
    memcpy(name, data, (size_t)(nl - data));
    name[nl - data] = '\0';
    size_t len = size - (size_t)(nl - data) - 1;
    /* An exact-size copy: ASan sees a read past it. */
    char *text = malloc(len ? len : 1);
    if (!text)
        return 0;
    memcpy(text, nl + 1, len);
    ch_header *h = NULL;
    ch_diag d;
    memset(&d, 0, sizeof d);
    ch_status st = ch_header_open_text("/nonexistent/fuzz.h", text, len, &h, &d);
    free(text);
    if (st != CH_OK) {
        die_if(h != NULL || d.text[0] == '\0' || st != d.status);
        return 0;
    }
    ch_prototype p;
    memset(&d, 0, sizeof d);
    st = ch_header_find(h, name, &p, &d);
    if (st == CH_OK) {
        die_if(!p.name || strcmp(p.name, name) != 0 || !p.ret_c_type);
        for (size_t i = 0; i < p.n_params; i++) {
            const ch_param *q = &p.params[i];
            die_if(!q->name || !q->c_type);
            if (q->kind == CH_RECORD || q->kind == CH_OPTIONAL || (q->kind == CH_LIST && q->elem == CH_RECORD))
                die_if(!q->st);
        }
        for (size_t i = 0; i < p.n_structs; i++)
            check_struct(p.structs[i]);
        /* The signature, cut to any size, is a C string. */
        char sig[48];
        size_t need = ch_dsp_signature(&p, sig, sizeof sig);
        die_if(strlen(sig) != (need < sizeof sig ? need : sizeof sig - 1));
        ch_prototype_free(&p);
    } else {
        die_if(d.text[0] == '\0' || st != d.status);
        die_if(p.name != NULL || p.params != NULL);
    }
    ch_header_close(h);
    return 0;
}
