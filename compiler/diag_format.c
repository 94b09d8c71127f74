/* diag_format.c — diagnostics as data for tools: GCC's JSON layout
 * (-fdiagnostics-format=json) and SARIF 2.1.0, which code-review tools and
 * GitHub code scanning ingest. `dspcc check --diagnostics-format`. */
#include "diag_format.h"

#include <string.h>

static const char *kind_name(diag_severity s)
{
    return s == DIAG_ERROR ? "error" : s == DIAG_WARNING ? "warning" : "note";
}

void diag_json_add(cJSON *array, const diag *d)
{
    for (size_t i = 0; i < d->msgs.len; i++) {
        const diag_msg *m = d->msgs.items[i];
        cJSON *o = cJSON_CreateObject();
        cJSON_AddStringToObject(o, "kind", kind_name(m->severity));
        cJSON_AddStringToObject(o, "message", m->text);
        cJSON *locs = cJSON_AddArrayToObject(o, "locations");
        if (m->loc.file) {
            cJSON *loc = cJSON_CreateObject();
            cJSON *caret = cJSON_AddObjectToObject(loc, "caret");
            cJSON_AddStringToObject(caret, "file", m->loc.file->path);
            cJSON_AddNumberToObject(caret, "line", m->loc.line);
            cJSON_AddNumberToObject(caret, "column", m->loc.col);
            cJSON_AddItemToArray(locs, loc);
        }
        cJSON_AddItemToArray(array, o);
    }
}

cJSON *diag_sarif_new(const char *version)
{
    cJSON *doc = cJSON_CreateObject();
    cJSON_AddStringToObject(doc, "$schema", "https://json.schemastore.org/sarif-2.1.0.json");
    cJSON_AddStringToObject(doc, "version", "2.1.0");
    cJSON *runs = cJSON_AddArrayToObject(doc, "runs");
    cJSON *run = cJSON_CreateObject();
    cJSON *driver = cJSON_AddObjectToObject(cJSON_AddObjectToObject(run, "tool"), "driver");
    cJSON_AddStringToObject(driver, "name", "dspcc");
    cJSON_AddStringToObject(driver, "version", version);
    /* dspcc counts columns in bytes; for ASCII sources, as .dsp files
     * mostly are, that is the code point a SARIF viewer expects. */
    cJSON_AddStringToObject(run, "columnKind", "unicodeCodePoints");
    cJSON_AddArrayToObject(run, "results");
    cJSON_AddItemToArray(runs, run);
    return doc;
}

void diag_sarif_add(cJSON *doc, const diag *d)
{
    cJSON *results = cJSON_GetObjectItem(cJSON_GetArrayItem(cJSON_GetObjectItem(doc, "runs"), 0), "results");
    for (size_t i = 0; i < d->msgs.len; i++) {
        const diag_msg *m = d->msgs.items[i];
        cJSON *r = cJSON_CreateObject();
        cJSON_AddStringToObject(r, "level", kind_name(m->severity));
        cJSON_AddStringToObject(cJSON_AddObjectToObject(r, "message"), "text", m->text);
        if (m->loc.file) {
            cJSON *locs = cJSON_AddArrayToObject(r, "locations");
            cJSON *loc = cJSON_CreateObject();
            cJSON *phys = cJSON_AddObjectToObject(loc, "physicalLocation");
            cJSON_AddStringToObject(cJSON_AddObjectToObject(phys, "artifactLocation"), "uri", m->loc.file->path);
            cJSON *region = cJSON_AddObjectToObject(phys, "region");
            if (m->loc.line > 0)
                cJSON_AddNumberToObject(region, "startLine", m->loc.line);
            if (m->loc.col > 0)
                cJSON_AddNumberToObject(region, "startColumn", m->loc.col);
            cJSON_AddItemToArray(locs, loc);
        }
        cJSON_AddItemToArray(results, r);
    }
}
