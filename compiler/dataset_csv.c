/* dataset_csv.c — the loader's view of datafile.c (the reader the checker
 * uses too): its results as dsp_error messages (see dataset_int.h). */
#include "dataset_int.h"

#include <errno.h>
#include <string.h>

dsp_status csv_next(csv_reader *r, csv_record *out, int *done, dsp_error *err)
{
    char why[512];
    switch (csv_read(r, out, done, why, sizeof why)) {
    case DF_OK:
        return DSP_OK;
    case DF_INVALID:
        return dsp_error_set(err, DSP_ERR_INVALID, "%s", why);
    default:
        return dsp_error_set(err, DSP_ERR_NOMEM, "out of memory reading CSV");
    }
}

dsp_status ds_read_file(const char *path, char **text, size_t *len, dsp_error *err)
{
    const char *why = "";
    switch (df_read_file(path, text, len, &why)) {
    case DF_OK:
        return DSP_OK;
    case DF_OPEN:
        return dsp_error_set(err, DSP_ERR_IO, "cannot open data file `%s`: %s", path, why);
    case DF_NOMEM:
        return dsp_error_set(err, DSP_ERR_NOMEM, "out of memory reading `%s`", path);
    default:
        return dsp_error_set(err, DSP_ERR_IO, "cannot read data file `%s`: %s", path, why);
    }
}
