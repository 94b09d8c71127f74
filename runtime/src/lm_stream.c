/* lm_stream.c — the streamed replies of OpenAI-compatible servers,
 * Anthropic, Gemini and Bedrock, read event by event (see lm_stream.h). */
#include "lm_stream.h"

#include <cjson/cJSON.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include "lm_wire.h"
#include "secret.h"

static const char *api_name(dsp_provider p)
{
    return p == DSP_PROVIDER_ANTHROPIC ? "Anthropic stream does not follow the Messages streaming API"
           : p == DSP_PROVIDER_GEMINI  ? "Gemini stream does not follow the streamGenerateContent API"
           : p == DSP_PROVIDER_BEDROCK ? "Bedrock stream does not follow the ConverseStream API"
                                       : "stream does not follow the chat completions streaming API";
}

static int on_event(void *ctx, const char *event, const char *data, size_t len);
static int on_message(void *ctx, const dsp_es_message *m);

void dsp_stream_reader_init(dsp_stream_reader *r, dsp_provider provider, dsp_chat_text_fn on_text, void *ctx)
{
    memset(r, 0, sizeof *r);
    r->provider = provider;
    r->on_text = on_text;
    r->ctx = ctx;
    dsp_tb_init(&r->text);
    dsp_tb_init(&r->tool_json);
    dsp_sse_init(&r->sse, on_event, r);
    dsp_es_init(&r->es, on_message, r);
}

void dsp_stream_reader_free(dsp_stream_reader *r)
{
    dsp_sse_free(&r->sse);
    dsp_es_free(&r->es);
    dsp_tb_free(&r->text);
    dsp_tb_free(&r->tool_json);
    dsp_error_clear(&r->err);
}

/* Stops the stream with st and a message; returns the SSE parser's
 * verdict to stop. */
static int fail(dsp_stream_reader *r, dsp_status st, const char *data, size_t len, const char *why)
{
    if (r->st == DSP_OK) {
        if (st == DSP_ERR_PROTOCOL && data)
            r->st = dsp_reply_protocol_error(&r->err, data, len, api_name(r->provider), why);
        else
            r->st = dsp_error_set(&r->err, st, "%s", why);
    }
    return 1;
}

/* Appends text to the reply and hands it on, unless it completes a piece
 * of a credential: only the last strlen(key) bytes before it can start one,
 * so each piece is checked once, and text before it was already clean. */
static int deliver(dsp_stream_reader *r, const char *s, size_t n)
{
    if (n == 0)
        return 0;
    size_t old = r->text.len;
    dsp_tb_put(&r->text, s, n);
    if (!dsp_tb_ok(&r->text))
        return fail(r, DSP_ERR_NOMEM, NULL, 0, "out of memory reading a streamed reply");
    for (size_t i = 0; i < sizeof r->keys / sizeof r->keys[0]; i++) {
        const char *key = r->keys[i];
        size_t kl = key ? strlen(key) : 0;
        if (kl < DSP_SECRET_MIN_PIECE)
            continue;
        size_t from = old > kl ? old - kl : 0;
        if (dsp_secret_found(r->text.data + from, r->text.len - from, key)) {
            char why[300];
            snprintf(why, sizeof why,
                     "the streamed reply holds the API key or a piece of it (%d or more characters); the stream was "
                     "stopped before that text was handed on, and nothing was stored (the server echoes "
                     "credentials: check the endpoint)",
                     DSP_SECRET_MIN_PIECE);
            return fail(r, DSP_ERR_PROTOCOL, NULL, 0, why);
        }
    }
    if (r->on_text && r->on_text(r->ctx, s, n) != 0)
        return fail(r, DSP_ERR_CANCELLED, NULL, 0, "cancelled by the streaming callback");
    return 0;
}

/* {"error": {...}} inside a stream: the provider's message, as an error
 * that ends the stream (servers send it when they fail part way). */
static int error_event(dsp_stream_reader *r, const char *data, size_t len)
{
    char msg[600], why[700];
    dsp_provider_error_message(data, len, msg, sizeof msg);
    snprintf(why, sizeof why, "the stream ended with an error event: %s", msg);
    return fail(r, DSP_ERR_NETWORK, NULL, 0, why);
}

static int openai_event(dsp_stream_reader *r, const cJSON *root, const char *data, size_t len)
{
    if (cJSON_GetObjectItemCaseSensitive(root, "error"))
        return error_event(r, data, len);
    const cJSON *choices = cJSON_GetObjectItemCaseSensitive(root, "choices");
    if (choices && !cJSON_IsArray(choices))
        return fail(r, DSP_ERR_PROTOCOL, data, len, "a chunk's \"choices\" is not an array");
    const cJSON *ch;
    for (ch = choices ? choices->child : NULL; ch; ch = ch->next) {
        const cJSON *ix = cJSON_GetObjectItemCaseSensitive(ch, "index");
        if (cJSON_IsNumber(ix) && ix->valuedouble != 0)
            continue; /* one choice is streamed */
        const cJSON *delta = cJSON_GetObjectItemCaseSensitive(ch, "delta");
        const cJSON *content = cJSON_GetObjectItemCaseSensitive(delta, "content");
        if (cJSON_IsString(content) && deliver(r, content->valuestring, strlen(content->valuestring)))
            return 1;
        const cJSON *refusal = cJSON_GetObjectItemCaseSensitive(delta, "refusal");
        if (cJSON_IsString(refusal) && *refusal->valuestring) {
            char why[200];
            snprintf(why, sizeof why, "choice 0 is a refusal: %.150s", refusal->valuestring);
            return fail(r, DSP_ERR_PROTOCOL, data, len, why);
        }
    }
    const cJSON *usage = cJSON_GetObjectItemCaseSensitive(root, "usage");
    if (cJSON_IsObject(usage)) {
        r->usage.prompt_tokens = dsp_reply_count(usage, "prompt_tokens");
        r->usage.completion_tokens = dsp_reply_count(usage, "completion_tokens");
    }
    return 0;
}

/* The JSON adapter's forced tool ("output"): its input arrives as pieces
 * of JSON text; once whole it is the answer, printed as a plain reply's
 * input object is, so both give the same text. */
static int tool_done(dsp_stream_reader *r, const char *data, size_t len)
{
    r->in_tool = false;
    cJSON *input = cJSON_ParseWithLength(r->tool_json.len ? r->tool_json.data : "{}",
                                         r->tool_json.len ? r->tool_json.len : 2);
    if (!cJSON_IsObject(input)) {
        cJSON_Delete(input);
        return fail(r, DSP_ERR_PROTOCOL, data, len,
                    r->provider == DSP_PROVIDER_BEDROCK ? "the toolUse block's input pieces are not a JSON object"
                                                        : "the tool_use block's input_json_delta pieces are not a JSON object");
    }
    char *text = cJSON_PrintUnformatted(input);
    cJSON_Delete(input);
    if (!text)
        return fail(r, DSP_ERR_NOMEM, NULL, 0, "out of memory reading a streamed reply");
    r->text.len = 0; /* the tool's input is the answer, as in a plain reply */
    int rc = deliver(r, text, strlen(text));
    cJSON_free(text);
    return rc;
}

static int anthropic_event(dsp_stream_reader *r, const char *event, const cJSON *root, const char *data,
                           size_t len)
{
    const cJSON *type = cJSON_GetObjectItemCaseSensitive(root, "type");
    const char *t = cJSON_IsString(type) ? type->valuestring : event;
    if (strcmp(t, "error") == 0)
        return error_event(r, data, len);
    if (strcmp(t, "message_start") == 0) {
        const cJSON *usage =
            cJSON_GetObjectItemCaseSensitive(cJSON_GetObjectItemCaseSensitive(root, "message"), "usage");
        r->usage.prompt_tokens = dsp_reply_count(usage, "input_tokens");
        r->usage.completion_tokens = dsp_reply_count(usage, "output_tokens");
    } else if (strcmp(t, "content_block_start") == 0) {
        const cJSON *block = cJSON_GetObjectItemCaseSensitive(root, "content_block");
        const cJSON *bt = cJSON_GetObjectItemCaseSensitive(block, "type");
        const cJSON *name = cJSON_GetObjectItemCaseSensitive(block, "name");
        if (cJSON_IsString(bt) && strcmp(bt->valuestring, "tool_use") == 0 && cJSON_IsString(name) &&
            strcmp(name->valuestring, "output") == 0) {
            r->in_tool = true;
            r->tool_json.len = 0;
        } else if (cJSON_IsString(bt) && strcmp(bt->valuestring, "text") == 0) {
            const cJSON *text = cJSON_GetObjectItemCaseSensitive(block, "text");
            if (cJSON_IsString(text))
                return deliver(r, text->valuestring, strlen(text->valuestring));
        }
    } else if (strcmp(t, "content_block_delta") == 0) {
        const cJSON *delta = cJSON_GetObjectItemCaseSensitive(root, "delta");
        const cJSON *dt = cJSON_GetObjectItemCaseSensitive(delta, "type");
        if (!cJSON_IsString(dt))
            return fail(r, DSP_ERR_PROTOCOL, data, len, "a content_block_delta has no delta.type");
        if (strcmp(dt->valuestring, "text_delta") == 0) {
            const cJSON *text = cJSON_GetObjectItemCaseSensitive(delta, "text");
            if (!cJSON_IsString(text))
                return fail(r, DSP_ERR_PROTOCOL, data, len, "a text_delta has no \"text\" string");
            return deliver(r, text->valuestring, strlen(text->valuestring));
        }
        if (strcmp(dt->valuestring, "input_json_delta") == 0 && r->in_tool) {
            const cJSON *pj = cJSON_GetObjectItemCaseSensitive(delta, "partial_json");
            if (cJSON_IsString(pj))
                dsp_tb_puts(&r->tool_json, pj->valuestring);
            if (!dsp_tb_ok(&r->tool_json))
                return fail(r, DSP_ERR_NOMEM, NULL, 0, "out of memory reading a streamed reply");
        }
        /* thinking_delta, signature_delta and other tools' input carry no
         * answer text, as their blocks in a plain reply. */
    } else if (strcmp(t, "content_block_stop") == 0) {
        if (r->in_tool)
            return tool_done(r, data, len);
    } else if (strcmp(t, "message_delta") == 0) {
        /* The output count so far (cumulative); input tokens may be
         * restated here. */
        const cJSON *usage = cJSON_GetObjectItemCaseSensitive(root, "usage");
        if (cJSON_GetObjectItemCaseSensitive(usage, "output_tokens"))
            r->usage.completion_tokens = dsp_reply_count(usage, "output_tokens");
        if (cJSON_GetObjectItemCaseSensitive(usage, "input_tokens"))
            r->usage.prompt_tokens = dsp_reply_count(usage, "input_tokens");
    } else if (strcmp(t, "message_stop") == 0) {
        r->done = true;
    }
    /* ping, and event types added later, are to be ignored. */
    return 0;
}

static int gemini_event(dsp_stream_reader *r, const cJSON *root, const char *data, size_t len)
{
    if (cJSON_GetObjectItemCaseSensitive(root, "error"))
        return error_event(r, data, len);
    const cJSON *cands = cJSON_GetObjectItemCaseSensitive(root, "candidates");
    const cJSON *cand = cJSON_IsArray(cands) ? cands->child : NULL;
    if (!cand) {
        const cJSON *br =
            cJSON_GetObjectItemCaseSensitive(cJSON_GetObjectItemCaseSensitive(root, "promptFeedback"), "blockReason");
        if (cJSON_IsString(br)) {
            char why[200];
            snprintf(why, sizeof why, "no candidates (promptFeedback.blockReason %.100s)", br->valuestring);
            return fail(r, DSP_ERR_PROTOCOL, data, len, why);
        }
    }
    const cJSON *parts =
        cJSON_GetObjectItemCaseSensitive(cJSON_GetObjectItemCaseSensitive(cand, "content"), "parts");
    const cJSON *part;
    for (part = parts ? parts->child : NULL; part; part = part->next) {
        const cJSON *text = cJSON_GetObjectItemCaseSensitive(part, "text");
        if (cJSON_IsTrue(cJSON_GetObjectItemCaseSensitive(part, "thought")) || !cJSON_IsString(text))
            continue;
        if (deliver(r, text->valuestring, strlen(text->valuestring)))
            return 1;
    }
    const cJSON *usage = cJSON_GetObjectItemCaseSensitive(root, "usageMetadata");
    if (cJSON_IsObject(usage)) {
        r->usage.prompt_tokens = dsp_reply_count(usage, "promptTokenCount");
        r->usage.completion_tokens =
            dsp_reply_count(usage, "candidatesTokenCount") + dsp_reply_count(usage, "thoughtsTokenCount");
    }
    if (cJSON_IsString(cJSON_GetObjectItemCaseSensitive(cand, "finishReason")))
        r->done = true;
    return 0;
}

static int bedrock_event(dsp_stream_reader *r, const char *type, const cJSON *root, const char *data, size_t len)
{
    if (strcmp(type, "contentBlockStart") == 0) {
        const cJSON *tu = cJSON_GetObjectItemCaseSensitive(cJSON_GetObjectItemCaseSensitive(root, "start"), "toolUse");
        const cJSON *name = cJSON_GetObjectItemCaseSensitive(tu, "name");
        if (cJSON_IsString(name) && strcmp(name->valuestring, "output") == 0) {
            r->in_tool = true;
            r->tool_json.len = 0;
        }
    } else if (strcmp(type, "contentBlockDelta") == 0) {
        const cJSON *delta = cJSON_GetObjectItemCaseSensitive(root, "delta");
        if (!cJSON_IsObject(delta))
            return fail(r, DSP_ERR_PROTOCOL, data, len, "a contentBlockDelta has no \"delta\" object");
        const cJSON *text = cJSON_GetObjectItemCaseSensitive(delta, "text");
        if (text) {
            if (!cJSON_IsString(text))
                return fail(r, DSP_ERR_PROTOCOL, data, len, "a contentBlockDelta's delta.text is not a string");
            return deliver(r, text->valuestring, strlen(text->valuestring));
        }
        const cJSON *input =
            cJSON_GetObjectItemCaseSensitive(cJSON_GetObjectItemCaseSensitive(delta, "toolUse"), "input");
        if (r->in_tool && cJSON_IsString(input)) {
            dsp_tb_puts(&r->tool_json, input->valuestring);
            if (!dsp_tb_ok(&r->tool_json))
                return fail(r, DSP_ERR_NOMEM, NULL, 0, "out of memory reading a streamed reply");
        }
        /* reasoningContent and other tools' input carry no answer text, as
         * their blocks in a plain reply. */
    } else if (strcmp(type, "contentBlockStop") == 0) {
        if (r->in_tool)
            return tool_done(r, data, len);
    } else if (strcmp(type, "messageStop") == 0) {
        r->stopped = true;
    } else if (strcmp(type, "metadata") == 0) {
        const cJSON *usage = cJSON_GetObjectItemCaseSensitive(root, "usage");
        r->usage.prompt_tokens = dsp_reply_count(usage, "inputTokens");
        r->usage.completion_tokens = dsp_reply_count(usage, "outputTokens");
        /* The last event: a stream cut before it would lose the usage. */
        r->done = r->stopped;
    }
    /* messageStart, and event types added later, carry no answer. */
    return 0;
}

/* One event-stream message of a ConverseStream reply. */
static int on_message(void *ctx, const dsp_es_message *m)
{
    dsp_stream_reader *r = ctx;
    char why[600];
    if (strcmp(m->message_type, "exception") == 0) {
        /* Its payload is {"message": "..."}; the type names the kind. */
        char msg[400];
        dsp_provider_error_message(m->payload, m->len, msg, sizeof msg);
        snprintf(why, sizeof why, "the stream ended with a %s: %s", *m->exception_type ? m->exception_type : "exception",
                 msg);
        /* A validationException would come back the same; throttling,
         * internal and model errors may pass. */
        return fail(r, strcmp(m->exception_type, "validationException") == 0 ? DSP_ERR_PROTOCOL : DSP_ERR_NETWORK,
                    NULL, 0, why);
    }
    if (strcmp(m->message_type, "error") == 0) {
        snprintf(why, sizeof why, "the stream ended with an error message: %s: %s",
                 *m->error_code ? m->error_code : "(no :error-code)", m->error_message);
        return fail(r, DSP_ERR_NETWORK, NULL, 0, why);
    }
    if (strcmp(m->message_type, "event") != 0) {
        snprintf(why, sizeof why, "event-stream message %lu has :message-type \"%.40s\" (event, exception or error expected)",
                 r->es.count, m->message_type);
        return fail(r, DSP_ERR_PROTOCOL, m->payload, m->len, why);
    }
    if (r->done)
        return 0; /* nothing follows the end */
    dsp_error perr = {0};
    cJSON *root = dsp_reply_json(m->payload, m->len, api_name(r->provider), &perr);
    if (!root) {
        if (r->st == DSP_OK) {
            r->st = perr.status;
            r->err = perr;
        } else {
            dsp_error_clear(&perr);
        }
        return 1;
    }
    int rc = bedrock_event(r, m->event_type, root, m->payload, m->len);
    cJSON_Delete(root);
    return rc;
}

static int on_event(void *ctx, const char *event, const char *data, size_t len)
{
    dsp_stream_reader *r = ctx;
    if (r->done && r->provider != DSP_PROVIDER_GEMINI)
        return 0; /* nothing follows the end */
    if (r->provider != DSP_PROVIDER_ANTHROPIC && r->provider != DSP_PROVIDER_GEMINI && len == 6 &&
        memcmp(data, "[DONE]", 6) == 0) {
        r->done = true;
        return 0;
    }
    dsp_error perr = {0};
    cJSON *root = dsp_reply_json(data, len, api_name(r->provider), &perr);
    if (!root) {
        if (r->st == DSP_OK) {
            r->st = perr.status;
            r->err = perr;
        } else {
            dsp_error_clear(&perr);
        }
        return 1;
    }
    int rc = r->provider == DSP_PROVIDER_ANTHROPIC ? anthropic_event(r, event, root, data, len)
             : r->provider == DSP_PROVIDER_GEMINI  ? gemini_event(r, root, data, len)
                                                   : openai_event(r, root, data, len);
    cJSON_Delete(root);
    return rc;
}

bool dsp_stream_reader_feed(dsp_stream_reader *r, const char *bytes, size_t n)
{
    if (r->st != DSP_OK)
        return false;
    if (r->provider == DSP_PROVIDER_BEDROCK) {
        int rc = dsp_es_feed(&r->es, bytes, n);
        if (rc == DSP_ES_NOMEM)
            fail(r, DSP_ERR_NOMEM, NULL, 0, "out of memory reading a streamed reply");
        else if (rc == DSP_ES_MALFORMED) /* damaged on the way, as a body cut short: may come whole next time */
            fail(r, DSP_ERR_NETWORK, NULL, 0, r->es.why);
        return r->st == DSP_OK;
    }
    int rc = dsp_sse_feed(&r->sse, bytes, n);
    if (rc < 0)
        fail(r, DSP_ERR_NOMEM, NULL, 0, "out of memory reading a streamed reply");
    return r->st == DSP_OK;
}

static const char *end_marker(dsp_provider p)
{
    return p == DSP_PROVIDER_ANTHROPIC ? "a message_stop event"
           : p == DSP_PROVIDER_GEMINI  ? "a chunk with a finishReason"
           : p == DSP_PROVIDER_BEDROCK ? "the metadata event after messageStop"
                                       : "data: [DONE]";
}

dsp_status dsp_stream_reader_finish(dsp_stream_reader *r, const char *what, dsp_chat_response *resp,
                                    dsp_error *err)
{
    if (r->st != DSP_OK) {
        if (err) {
            dsp_error_clear(err);
            *err = r->err;
            memset(&r->err, 0, sizeof r->err);
            if (r->st != DSP_ERR_PROTOCOL) {
                char msg[DSP_ERROR_MESSAGE_MAX];
                int k = snprintf(msg, sizeof msg, "the stream from %s: ", what);
                if (k > 0 && (size_t)k < sizeof msg) {
                    snprintf(msg + k, sizeof msg - (size_t)k, "%.*s", (int)(sizeof msg - (size_t)k - 1), err->message);
                    memcpy(err->message, msg, sizeof msg);
                }
            }
        }
        return r->st;
    }
    if (!r->done)
        return dsp_error_set(err, DSP_ERR_NETWORK,
                             "the stream from %s was cut off after %zu bytes of text, before %s; the partial reply "
                             "was dropped, not cached",
                             what, r->text.len, end_marker(r->provider));
    resp->choices = calloc(1, sizeof *resp->choices);
    char *text = resp->choices ? malloc(r->text.len + 1) : NULL;
    if (!text) {
        free(resp->choices);
        resp->choices = NULL;
        return dsp_error_set(err, DSP_ERR_NOMEM, "out of memory copying a streamed reply");
    }
    if (r->text.len)
        memcpy(text, r->text.data, r->text.len);
    text[r->text.len] = '\0';
    resp->choices[0] = text;
    resp->n_choices = 1;
    resp->usage = r->usage;
    return DSP_OK;
}
