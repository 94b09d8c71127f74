/* dataset_int.h — what the data set loader's files share. Internal. */
#ifndef DSPCC_DATASET_INT_H
#define DSPCC_DATASET_INT_H

#include <stddef.h>

#include "datafile.h"
#include "dsp/error.h"
#include "exec.h"

/* csv_read with its failures as dsp_error messages: an unterminated quote
 * or text after a closing quote is DSP_ERR_INVALID naming path:line. */
dsp_status csv_next(csv_reader *r, csv_record *out, int *done, dsp_error *err);

/* The whole file, NUL-terminated. */
dsp_status ds_read_file(const char *path, char **text, size_t *len, dsp_error *err);

/* The columns the file's row on `line` has (JSONL: that object's keys;
 * CSV: the header), comma-separated into buf; "none" if there are none or
 * the file cannot be read again. For messages only. */
void ds_row_columns(const ex_dataset *d, int line, char *buf, size_t size);

#endif
