/* entities_cli — named-entity extraction as a plain C program: reads one
 * sentence per line on standard input and prints, per line, a JSON object
 * {"sentence": ..., "entities": [{"text": ..., "type": ...}, ...]}; a line
 * that fails prints {"sentence": ..., "error": ...} and the exit status is
 * 1. The prompts are the ones build/entities.c bakes in (optimized when
 * `make` found entities.state.json).
 *
 *   echo "Willie Nelson played in Austin" | DSPCC_BASE_URL=http://127.0.0.1:PORT/v1 build/entities_cli
 */
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include "entities.h"

/* s as a JSON string: quotes, backslashes and control characters escaped
 * (the rest, UTF-8 included, as is). */
static void put_json_string(const char *s)
{
    putchar('"');
    for (const unsigned char *p = (const unsigned char *)s; *p; p++) {
        if (*p == '"' || *p == '\\')
            printf("\\%c", *p);
        else if (*p == '\n')
            fputs("\\n", stdout);
        else if (*p == '\t')
            fputs("\\t", stdout);
        else if (*p < 0x20)
            printf("\\u%04x", *p);
        else
            putchar(*p);
    }
    putchar('"');
}

int main(void)
{
    dsp_client *client = NULL;
    dsp_error err = { 0 };
    if (dsp_client_new(NULL, &client, &err) != DSP_OK) {
        fprintf(stderr, "entities_cli: %s\n", err.message);
        return 1;
    }
    int status = 0;
    char *line = NULL;
    size_t cap = 0;
    ssize_t len;
    while ((len = getline(&line, &cap, stdin)) >= 0) {
        while (len > 0 && (line[len - 1] == '\n' || line[len - 1] == '\r'))
            line[--len] = '\0';
        if (len == 0)
            continue;
        entities_input in = { .sentence = line };
        entities_output out;
        memset(&out, 0, sizeof out);
        fputs("{\"sentence\": ", stdout);
        put_json_string(line);
        if (entities_run(client, &in, &out, &err) != DSP_OK) {
            fputs(", \"error\": ", stdout);
            put_json_string(err.message);
            fputs("}\n", stdout);
            dsp_error_clear(&err);
            status = 1;
            continue;
        }
        fputs(", \"entities\": [", stdout);
        for (size_t i = 0; i < out.entities.len; i++) {
            const entities_entity *e = &out.entities.items[i];
            fputs(i ? ", {\"text\": " : "{\"text\": ", stdout);
            put_json_string(e->text);
            fputs(", \"type\": ", stdout);
            put_json_string(entities_entity_type_names[e->type]);
            putchar('}');
        }
        fputs("]}\n", stdout);
        entities_output_free(&out);
    }
    free(line);
    dsp_client_free(client);
    return status;
}
