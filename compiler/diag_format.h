/* diag_format.h — diagnostics as JSON documents for tools (diag_format.c). */
#ifndef DSPCC_DIAG_FORMAT_H
#define DSPCC_DIAG_FORMAT_H

#include <cJSON.h>

#include "diag.h"

/* Appends d's diagnostics to a JSON array in GCC's layout:
 * {"kind": "error", "message": "...", "locations": [{"caret": {"file",
 * "line", "column"}}]} (no location for a message about no file). */
void diag_json_add(cJSON *array, const diag *d);

/* A SARIF 2.1.0 log with one run of the tool dspcc VERSION and no results
 * yet; diag_sarif_add appends d's diagnostics as results (level, message
 * text, physicalLocation with artifactLocation.uri and a region). */
cJSON *diag_sarif_new(const char *version);
void diag_sarif_add(cJSON *doc, const diag *d);

#endif
