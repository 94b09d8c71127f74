/* datafile.h — reading a data set's file: its whole text and its CSV
 * records (RFC 4180). The checker (sema_data.c: columns, enum values) and
 * the loader (dataset.c) both read through here, so they see the same
 * cells. No libdsprt: the front end links without the runtime. */
#ifndef DSPCC_DATAFILE_H
#define DSPCC_DATAFILE_H

#include <stddef.h>

typedef enum df_status {
    DF_OK = 0,
    DF_NOMEM,
    DF_OPEN,     /* cannot open, or not a regular file: errno says why */
    DF_READ,     /* a read error */
    DF_INVALID,  /* malformed CSV: the message says where */
} df_status;

/* The whole file, NUL-terminated, malloc'ed. Only a regular file is read
 * (fr_open_regular): a FIFO, directory or device is DF_OPEN. On DF_OPEN and
 * DF_READ, *why (not NULL) says why, to print after the path. */
df_status df_read_file(const char *path, char **text, size_t *len, const char **why);

/* Spreadsheets often save CSV with a UTF-8 byte order mark, which would
 * otherwise become part of the first column's name: its length (3) or 0. */
size_t df_bom_len(const char *text, size_t len);

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
/* The next record (comma-separated, quoted cells may hold commas, line
 * breaks and "" for a quote; CRLF or LF ends a record; blank lines between
 * records are skipped). DF_OK with *done set at the end of the text; an
 * unterminated quote or text after a closing quote is DF_INVALID with
 * "path:line: ..." in why. */
df_status csv_read(csv_reader *r, csv_record *out, int *done, char *why, size_t why_size);
void csv_record_free(csv_record *rec);

#endif
