/* dataset_int.h — what the data set loader's files share. Internal. */
#ifndef DSPCC_DATASET_INT_H
#define DSPCC_DATASET_INT_H

#include <stddef.h>

#include "dsp/error.h"

/* One CSV record: its cells (malloc'ed, NUL-terminated) and the line it
 * starts on. */
typedef struct csv_record {
    char **cells;
    size_t n_cells;
    int line;
} csv_record;

typedef struct csv_reader {
    const char *p, *end;
    int line;                   /* the line *p is on */
    const char *path;           /* for messages */
} csv_reader;

void csv_reader_init(csv_reader *r, const char *text, size_t len, const char *path);
/* The next record (RFC 4180: comma-separated, quoted cells may hold commas,
 * line breaks and "" for a quote; CRLF or LF ends a record). Returns DSP_OK
 * with *done set at the end of the text; an unterminated quote or text
 * after a closing quote is an error naming path:line. */
dsp_status csv_next(csv_reader *r, csv_record *out, int *done, dsp_error *err);
void csv_record_free(csv_record *rec);

/* The whole file, NUL-terminated. */
dsp_status ds_read_file(const char *path, char **text, size_t *len, dsp_error *err);

#endif
