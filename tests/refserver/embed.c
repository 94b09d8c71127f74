/* embed.c — POST /v1/embeddings: hashed bag-of-words vectors (embed.h). */
#include "embed.h"

#include <math.h>
#include <stdio.h>
#include <string.h>

#include "text.h"

static int word_char(unsigned char c)
{
    return (c >= 'a' && c <= 'z') || (c >= 'A' && c <= 'Z') || (c >= '0' && c <= '9');
}

void rs_embed_text(const char *text, size_t len, size_t dim, float *out)
{
    /* Counts per bucket first, signed; the damping is per word, so each
     * distinct word keeps its own count (a small open table of words). */
    memset(out, 0, dim * sizeof *out);
    enum { MAXW = 512 };
    uint64_t hashes[MAXW];
    unsigned counts[MAXW];
    size_t n_words = 0;
    char buf[64];
    size_t i = 0;
    while (i < len) {
        while (i < len && !word_char((unsigned char)text[i]))
            i++;
        size_t start = i;
        while (i < len && word_char((unsigned char)text[i]))
            i++;
        if (i == start)
            break;
        size_t sl = rs_stem(text + start, i - start, buf, sizeof buf);
        if (sl < 2 && !(sl == 1 && buf[0] >= '0' && buf[0] <= '9'))
            continue;
        uint64_t h = rs_hash(buf, sl, 0xe3bedd1e5ull);
        size_t k = 0;
        while (k < n_words && hashes[k] != h)
            k++;
        if (k == n_words) {
            if (n_words == MAXW)
                continue; /* a text of more than 512 distinct words: the rest are left out */
            hashes[n_words] = h;
            counts[n_words++] = 0;
        }
        counts[k]++;
    }
    double sum = 0;
    for (size_t k = 0; k < n_words; k++) {
        size_t bucket = (size_t)(hashes[k] % dim);
        double w = (1.0 + log((double)counts[k])) * ((rs_mix(hashes[k]) >> 63) ? -1.0 : 1.0);
        out[bucket] += (float)w;
    }
    for (size_t d = 0; d < dim; d++)
        sum += (double)out[d] * out[d];
    if (sum > 0) {
        double inv = 1.0 / sqrt(sum);
        for (size_t d = 0; d < dim; d++)
            out[d] = (float)(out[d] * inv);
    }
}

static void bad_request(rs_arena *a, const char *param, const char *message, rs_answer *out)
{
    rs_wire_error e = { 400, message, param, NULL };
    memset(out, 0, sizeof *out);
    out->status = 400;
    out->body = rs_wire_error_body(a, RS_API_OPENAI, &e);
    out->send_len = strlen(out->body);
}

/* The inputs as strings: one string, or an array of 1..2048 non-empty
 * strings (OpenAI also takes token arrays; the fixture does not). */
static bool read_inputs(rs_arena *a, const cJSON *input, const char ***texts, size_t *n, rs_answer *out)
{
    if (cJSON_IsString(input)) {
        *texts = rs_alloc(a, sizeof **texts);
        (*texts)[0] = input->valuestring;
        *n = 1;
    } else if (cJSON_IsArray(input)) {
        int m = cJSON_GetArraySize(input);
        if (m < 1 || m > RS_EMBED_MAX_INPUTS) {
            bad_request(a, "input", "Invalid 'input': expected an array of 1 to 2048 strings.", out);
            return false;
        }
        *texts = rs_alloc(a, (size_t)m * sizeof **texts);
        *n = 0;
        const cJSON *s;
        cJSON_ArrayForEach(s, input) {
            if (!cJSON_IsString(s)) {
                bad_request(a, "input", "Invalid 'input': this test fixture takes strings only (no token arrays).",
                            out);
                return false;
            }
            (*texts)[(*n)++] = s->valuestring;
        }
    } else {
        bad_request(a, "input", input ? "Invalid 'input': expected a string or an array of strings."
                                      : "Missing required parameter: 'input'.", out);
        return false;
    }
    for (size_t i = 0; i < *n; i++) {
        if (!(*texts)[i][0]) {
            bad_request(a, "input", "'$.input' is invalid: an input must not be an empty string.", out);
            return false;
        }
    }
    return true;
}

static void put_float(rs_buf *b, float f)
{
    char buf[32];
    /* Nine significant digits: the float itself, read back exactly. */
    int n = snprintf(buf, sizeof buf, "%.9g", (double)f);
    rs_buf_add(b, buf, (size_t)n);
}

/* encoding_format base64: the floats' little-endian IEEE 754 bytes, as
 * OpenAI sends them (its Node client asks for this by default). */
static void put_base64(rs_buf *b, const float *v, size_t dim)
{
    static const char tab[] = "ABCDEFGHIJKLMNOPQRSTUVWXYZabcdefghijklmnopqrstuvwxyz0123456789+/";
    size_t n = dim * 4;
    unsigned char *bytes = rs_alloc(b->arena, n + 3);
    for (size_t d = 0; d < dim; d++) {
        uint32_t u;
        memcpy(&u, &v[d], 4);
        for (int k = 0; k < 4; k++)
            bytes[4 * d + (size_t)k] = (unsigned char)(u >> (8 * k));
    }
    for (size_t i = 0; i < n; i += 3) {
        uint32_t x = (uint32_t)bytes[i] << 16 | (uint32_t)bytes[i + 1] << 8 | bytes[i + 2];
        char q[4] = { tab[x >> 18 & 63], tab[x >> 12 & 63], i + 1 < n ? tab[x >> 6 & 63] : '=',
                      i + 2 < n ? tab[x & 63] : '=' };
        rs_buf_add(b, q, 4);
    }
}

void rs_answer_embeddings(rs_arena *a, const rs_options *o, const char *body, size_t len, uint64_t request_no,
                          rs_answer *out)
{
    memset(out, 0, sizeof *out);
    cJSON *root = cJSON_ParseWithLength(body, len);
    if (!cJSON_IsObject(root)) {
        cJSON_Delete(root);
        bad_request(a, NULL,
                    "We could not parse the JSON body of your request. (HINT: This likely means you aren't using "
                    "your HTTP library correctly.)",
                    out);
        return;
    }
    const cJSON *model = cJSON_GetObjectItemCaseSensitive(root, "model");
    const cJSON *dims = cJSON_GetObjectItemCaseSensitive(root, "dimensions");
    const cJSON *fmt = cJSON_GetObjectItemCaseSensitive(root, "encoding_format");
    const char **texts = NULL;
    size_t n = 0;
    size_t dim = RS_EMBED_DEFAULT_DIM;
    bool ok = true;
    if (!cJSON_IsString(model) || !model->valuestring[0]) {
        bad_request(a, "model", "Missing required parameter: 'model'.", out);
        ok = false;
    } else if (dims && !(cJSON_IsNumber(dims) && dims->valuedouble >= 1 && dims->valuedouble <= RS_EMBED_MAX_DIM &&
                         dims->valuedouble == floor(dims->valuedouble))) {
        bad_request(a, "dimensions", "Invalid 'dimensions': expected an integer from 1 to 4096.", out);
        ok = false;
    } else if (fmt && !(cJSON_IsString(fmt) &&
                        (strcmp(fmt->valuestring, "float") == 0 || strcmp(fmt->valuestring, "base64") == 0))) {
        bad_request(a, "encoding_format", "Invalid 'encoding_format': expected 'float' or 'base64'.", out);
        ok = false;
    } else {
        ok = read_inputs(a, cJSON_GetObjectItemCaseSensitive(root, "input"), &texts, &n, out);
    }
    if (!ok) {
        cJSON_Delete(root);
        return;
    }
    if (dims)
        dim = (size_t)dims->valuedouble;
    bool base64 = fmt && strcmp(fmt->valuestring, "base64") == 0;
    out->model = rs_strdup(a, model->valuestring);
    out->n_messages = n;
    out->prompt = o->log_path ? rs_strdup(a, texts[0]) : NULL;

    rs_fault fault = rs_pick_fault(o, request_no);
    out->fault = fault;
    out->delay_ms = o->latency_ms;
    if (fault == RS_FAULT_429 || fault == RS_FAULT_500 || fault == RS_FAULT_503) {
        int status = fault == RS_FAULT_429 ? 429 : fault == RS_FAULT_500 ? 500 : 503;
        const char *model_name = out->model, *prompt = out->prompt;
        unsigned delay = out->delay_ms;
        rs_answer_error(a, RS_API_OPENAI, status,
                        status == 429 ? "Rate limit reached (injected by dsp-refserver --fail-kinds 429)."
                                      : "The server had an error (injected by dsp-refserver --fail-kinds).",
                        status == 429 ? "rate_limit_exceeded" : NULL, out);
        out->fault = fault;
        out->model = model_name;
        out->prompt = prompt;
        out->n_messages = n;
        out->delay_ms = delay;
        if (status == 429)
            out->retry_after_ms = o->retry_after_ms;
        cJSON_Delete(root);
        return;
    }
    if (fault == RS_FAULT_HANG)
        out->delay_ms = o->hang_ms;
    if (fault == RS_FAULT_OVERSIZE || fault == RS_FAULT_OVERSIZE_CHUNKED) {
        out->status = 200;
        out->body = "";
        out->oversize = o->oversize_bytes;
        cJSON_Delete(root);
        return;
    }

    rs_buf b;
    rs_buf_init(&b, a);
    rs_buf_puts(&b, "{\"object\":\"list\",\"data\":[");
    float *v = rs_alloc(a, dim * sizeof *v);
    long tokens = 0;
    for (size_t i = 0; i < n; i++) {
        rs_embed_text(texts[i], strlen(texts[i]), dim, v);
        tokens += rs_count_words(texts[i]);
        rs_buf_puts(&b, i ? ",{\"object\":\"embedding\",\"index\":" : "{\"object\":\"embedding\",\"index\":");
        rs_buf_int(&b, (long long)i);
        /* A damaged reply: the vector missing, or a string where it goes. */
        if (fault == RS_FAULT_MISSING_FIELD) {
            rs_buf_puts(&b, "}");
            continue;
        }
        if (fault == RS_FAULT_WRONG_TYPE) {
            rs_buf_puts(&b, ",\"embedding\":\"0.1, 0.2\"}");
            continue;
        }
        if (base64) {
            rs_buf_puts(&b, ",\"embedding\":\"");
            put_base64(&b, v, dim);
            rs_buf_puts(&b, "\"}");
            continue;
        }
        rs_buf_puts(&b, ",\"embedding\":[");
        for (size_t d = 0; d < dim; d++) {
            if (d)
                rs_buf_puts(&b, ",");
            put_float(&b, v[d]);
        }
        rs_buf_puts(&b, "]}");
    }
    rs_buf_puts(&b, "],\"model\":");
    rs_buf_json_string(&b, model->valuestring);
    rs_buf_puts(&b, ",\"usage\":{\"prompt_tokens\":");
    rs_buf_int(&b, tokens);
    rs_buf_puts(&b, ",\"total_tokens\":");
    rs_buf_int(&b, tokens);
    rs_buf_puts(&b, "}}");
    out->status = 200;
    out->body = rs_buf_str(&b);
    out->send_len = strlen(out->body);
    if (fault == RS_FAULT_TRUNCATE) {
        out->send_len /= 2;
    } else if (fault == RS_FAULT_BADJSON) {
        out->body = rs_strndup(a, out->body, out->send_len / 2);
        out->send_len = strlen(out->body);
    }
    cJSON_Delete(root);
}
