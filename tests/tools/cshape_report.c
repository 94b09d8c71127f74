/* tests/tools/cshape_report.c — dsp-cshape's one way of reporting. */
#include "cshape.h"

#include <stdarg.h>
#include <stdio.h>

void cshape_report(cshape *cs, const char *path, int line, int col, const char *fmt, ...)
{
    if (line > 0)
        fprintf(stderr, "%s:%d:%d: error: ", path, line, col);
    else
        fprintf(stderr, "%s: error: ", path);
    va_list ap;
    va_start(ap, fmt);
    vfprintf(stderr, fmt, ap);
    va_end(ap);
    fputc('\n', stderr);
    cs->errors++;
}
