/* lora.c — LoRA adapters: hashing, verifying, loading into vLLM (see
 * dsp/lora.h). */
#define _POSIX_C_SOURCE 200809L
#include "dsp/lora.h"

#include <cjson/cJSON.h>
#include <dirent.h>
#include <errno.h>
#include <fcntl.h>
#include <inttypes.h>
#include <openssl/evp.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/stat.h>
#include <unistd.h>

#include "client_settings.h"
#include "http_request.h"
#include "lm_wire.h"
#include "secret.h"

/* Adapters nest a few directories at most; a deeper tree is a mistake
 * (a directory holding a whole model cache), not an adapter. */
#define LORA_MAX_DEPTH 8

typedef struct paths {
    char **items;
    size_t n, cap;
} paths;

static void paths_free(paths *p)
{
    for (size_t i = 0; i < p->n; i++)
        free(p->items[i]);
    free(p->items);
    memset(p, 0, sizeof *p);
}

static dsp_status paths_add(paths *p, const char *s, dsp_error *err)
{
    if (p->n == p->cap) {
        size_t cap = p->cap ? p->cap * 2 : 16;
        char **n = realloc(p->items, cap * sizeof *n);
        if (!n)
            return dsp_error_set(err, DSP_ERR_NOMEM, "out of memory");
        p->items = n;
        p->cap = cap;
    }
    if (!(p->items[p->n] = strdup(s)))
        return dsp_error_set(err, DSP_ERR_NOMEM, "out of memory");
    p->n++;
    return DSP_OK;
}

static char *join(const char *a, const char *b)
{
    size_t n = strlen(a) + strlen(b) + 2;
    char *s = malloc(n);
    if (s)
        snprintf(s, n, "%s%s%s", a, *a && *b ? "/" : "", b);
    return s;
}

/* Every regular file under root/rel, as paths relative to root. */
static dsp_status walk(const char *root, const char *rel, int depth, paths *out, dsp_error *err)
{
    char *dir = join(root, rel);
    if (!dir)
        return dsp_error_set(err, DSP_ERR_NOMEM, "out of memory");
    DIR *d = opendir(dir);
    if (!d) {
        dsp_status st = dsp_error_set(err, DSP_ERR_IO, "adapter: cannot read the directory %s: %s", dir,
                                      strerror(errno));
        free(dir);
        return st;
    }
    dsp_status st = DSP_OK;
    struct dirent *e;
    while (st == DSP_OK && (e = readdir(d))) {
        if (strcmp(e->d_name, ".") == 0 || strcmp(e->d_name, "..") == 0)
            continue;
        char *r = join(rel, e->d_name), *full = r ? join(root, r) : NULL;
        struct stat sb;
        if (!r || !full)
            st = dsp_error_set(err, DSP_ERR_NOMEM, "out of memory");
        else if (lstat(full, &sb) != 0)
            st = dsp_error_set(err, DSP_ERR_IO, "adapter: cannot stat %s: %s", full, strerror(errno));
        else if (S_ISDIR(sb.st_mode) && depth < LORA_MAX_DEPTH)
            st = walk(root, r, depth + 1, out, err);
        else if (S_ISDIR(sb.st_mode))
            st = dsp_error_set(err, DSP_ERR_INVALID, "adapter: %s nests more than %d directories deep; is it an "
                                                     "adapter?", full, LORA_MAX_DEPTH);
        else if (S_ISREG(sb.st_mode))
            st = paths_add(out, r, err);
        else
            st = dsp_error_set(err, DSP_ERR_INVALID,
                               "adapter: %s is not a regular file (a symbolic link or device); an adapter's "
                               "hash covers its bytes, so copy the file itself into the adapter",
                               full);
        free(r);
        free(full);
    }
    closedir(d);
    free(dir);
    return st;
}

static int cmp_str(const void *a, const void *b)
{
    return strcmp(*(char *const *)a, *(char *const *)b);
}

/* Adds the bytes of the regular file path to ctx; *size gets their count. */
static dsp_status hash_file(EVP_MD_CTX *ctx, const char *path, uint64_t *size, dsp_error *err)
{
    int fd = open(path, O_RDONLY | O_CLOEXEC | O_NONBLOCK);
    struct stat sb;
    if (fd < 0 || fstat(fd, &sb) != 0 || !S_ISREG(sb.st_mode)) {
        int e = errno;
        if (fd >= 0)
            close(fd);
        return dsp_error_set(err, DSP_ERR_IO, "adapter: cannot read %s: %s", path,
                             fd >= 0 && e == 0 ? "not a regular file" : strerror(e));
    }
    unsigned char buf[65536];
    *size = 0;
    dsp_status st = DSP_OK;
    for (;;) {
        ssize_t n = read(fd, buf, sizeof buf);
        if (n < 0 && errno == EINTR)
            continue;
        if (n < 0) {
            st = dsp_error_set(err, DSP_ERR_IO, "adapter: cannot read %s: %s", path, strerror(errno));
            break;
        }
        if (n == 0)
            break;
        if (EVP_DigestUpdate(ctx, buf, (size_t)n) != 1) {
            st = dsp_error_set(err, DSP_ERR_INVALID, "adapter: SHA-256 failed on %s", path);
            break;
        }
        *size += (uint64_t)n;
    }
    close(fd);
    return st;
}

/* The size of a regular file, read before its bytes: the directory form
 * puts the size first. */
static dsp_status file_size(const char *path, uint64_t *size, dsp_error *err)
{
    struct stat sb;
    if (stat(path, &sb) != 0)
        return dsp_error_set(err, DSP_ERR_IO, "adapter: cannot stat %s: %s", path, strerror(errno));
    *size = (uint64_t)sb.st_size;
    return DSP_OK;
}

dsp_status dsp_adapter_sha256(const char *path, char hex[65], dsp_error *err)
{
    hex[0] = '\0';
    struct stat sb;
    if (!path || !*path)
        return dsp_error_set(err, DSP_ERR_INVALID, "adapter: no path given");
    if (stat(path, &sb) != 0)
        return dsp_error_set(err, DSP_ERR_IO, "adapter %s: %s", path, strerror(errno));
    EVP_MD_CTX *ctx = EVP_MD_CTX_new();
    if (!ctx || EVP_DigestInit_ex(ctx, EVP_sha256(), NULL) != 1) {
        EVP_MD_CTX_free(ctx);
        return dsp_error_set(err, DSP_ERR_NOMEM, "adapter: cannot start SHA-256");
    }
    dsp_status st = DSP_OK;
    uint64_t size = 0;
    if (S_ISREG(sb.st_mode)) {
        st = hash_file(ctx, path, &size, err);
    } else if (S_ISDIR(sb.st_mode)) {
        paths files = { 0 };
        st = walk(path, "", 0, &files, err);
        if (st == DSP_OK && files.n == 0)
            st = dsp_error_set(err, DSP_ERR_INVALID, "adapter %s: the directory holds no files", path);
        if (st == DSP_OK)
            qsort(files.items, files.n, sizeof *files.items, cmp_str);
        for (size_t i = 0; i < files.n && st == DSP_OK; i++) {
            char *full = join(path, files.items[i]);
            char head[32];
            uint64_t want = 0;
            if (!full) {
                st = dsp_error_set(err, DSP_ERR_NOMEM, "out of memory");
                break;
            }
            st = file_size(full, &want, err);
            int hn = snprintf(head, sizeof head, "%" PRIu64, want);
            if (st == DSP_OK &&
                (EVP_DigestUpdate(ctx, files.items[i], strlen(files.items[i]) + 1) != 1 ||
                 EVP_DigestUpdate(ctx, head, (size_t)hn + 1) != 1))
                st = dsp_error_set(err, DSP_ERR_INVALID, "adapter: SHA-256 failed");
            if (st == DSP_OK)
                st = hash_file(ctx, full, &size, err);
            if (st == DSP_OK && size != want)
                st = dsp_error_set(err, DSP_ERR_IO, "adapter: %s changed while it was hashed", full);
            free(full);
        }
        paths_free(&files);
    } else {
        st = dsp_error_set(err, DSP_ERR_INVALID, "adapter %s is neither a regular file nor a directory", path);
    }
    unsigned char md[EVP_MAX_MD_SIZE];
    unsigned int mlen = 0;
    if (st == DSP_OK && (EVP_DigestFinal_ex(ctx, md, &mlen) != 1 || mlen != 32))
        st = dsp_error_set(err, DSP_ERR_INVALID, "adapter: SHA-256 failed");
    EVP_MD_CTX_free(ctx);
    if (st != DSP_OK)
        return st;
    for (unsigned i = 0; i < 32; i++)
        snprintf(hex + 2 * i, 3, "%02x", md[i]);
    return DSP_OK;
}

dsp_status dsp_adapter_verify(const char *base_dir, const char *path, const char *sha256, dsp_error *err)
{
    if (!path || !sha256)
        return dsp_error_set(err, DSP_ERR_INVALID, "adapter: a path and a SHA-256 are required");
    char *full = path[0] == '/' || !base_dir || !*base_dir ? strdup(path) : join(base_dir, path);
    if (!full)
        return dsp_error_set(err, DSP_ERR_NOMEM, "out of memory");
    char hex[65];
    dsp_error e = { 0 };
    dsp_status st = dsp_adapter_sha256(full, hex, &e);
    if (st != DSP_OK)
        st = dsp_error_set(err, st, "LoRA adapter %s is missing or unreadable (%s); deploy the adapter the program "
                                    "was built with, or rebuild against the one deployed",
                           full, e.message);
    else if (strcmp(hex, sha256) != 0)
        st = dsp_error_set(err, DSP_ERR_INVALID,
                           "LoRA adapter %s has changed: its SHA-256 is %s, the program was built with %s; deploy "
                           "the adapter the program was built with, or rebuild against this one",
                           full, hex, sha256);
    dsp_error_clear(&e);
    free(full);
    return st;
}

dsp_status dsp_lora_load(dsp_client *c, const dsp_lm_config *lm, const char *name, const char *path,
                         dsp_error *err)
{
    if (!c || !lm || !name || !path)
        return dsp_error_set(err, DSP_ERR_INVALID, "load_lora_adapter: client, lm, name and path are required");
    dsp_provider provider;
    const char *model_name;
    dsp_status st = dsp_parse_model(lm->model, &provider, &model_name, err);
    if (st != DSP_OK)
        return st;
    dsp_client_options o = dsp_client_settings(c);
    const char *base_url = o.base_url ? o.base_url : lm->base_url ? lm->base_url
                                                               : dsp_provider_default_base_url(provider);
    if (!base_url)
        return dsp_error_set(err, DSP_ERR_INVALID, "load_lora_adapter: %s has no base URL", lm->model);
    char *base = NULL;
    if ((st = dsp_api_base_url(base_url, &base, err)) != DSP_OK)
        return st;
    const char *key = NULL;
    char *auth = NULL;
    if (lm->api_key_env && getenv(lm->api_key_env)) {
        st = dsp_api_key_from_env(lm->api_key_env, lm->model, &key, err);
        if (st == DSP_OK) {
            size_t n = strlen(key) + 32;
            if ((auth = malloc(n)))
                snprintf(auth, n, "Authorization: Bearer %s", key);
            else
                st = dsp_error_set(err, DSP_ERR_NOMEM, "out of memory");
        }
    }
    cJSON *body = cJSON_CreateObject();
    char *json = NULL;
    if (st == DSP_OK && (!body || !cJSON_AddStringToObject(body, "lora_name", name) ||
                         !cJSON_AddStringToObject(body, "lora_path", path) ||
                         !(json = cJSON_PrintUnformatted(body))))
        st = dsp_error_set(err, DSP_ERR_NOMEM, "out of memory");
    cJSON_Delete(body);
    size_t ul = strlen(base) + 32;
    char *url = st == DSP_OK ? malloc(ul) : NULL;
    if (st == DSP_OK && !url)
        st = dsp_error_set(err, DSP_ERR_NOMEM, "out of memory");
    if (st == DSP_OK) {
        snprintf(url, ul, "%s/load_lora_adapter", base);
        const char *headers[2] = { "Content-Type: application/json", auth };
        dsp_http_request rq = { .method = "POST", .url = url, .headers = headers, .n_headers = auth ? 2 : 1,
                                .body = json, .len = strlen(json), .connect_timeout_s = o.connect_timeout_s,
                                .timeout_s = o.timeout_s };
        dsp_http_reply reply;
        st = dsp_http_send(&rq, &reply, err);
        if (st == DSP_OK && (reply.status < 200 || reply.status >= 300)) {
            char msg[600];
            dsp_provider_error_message(reply.body, reply.len, msg, sizeof msg);
            /* vLLM answers 400 to a name it already serves: the adapter
             * is there, which is what was asked. */
            if (!(reply.status == 400 && strstr(msg, "already been loaded"))) {
                st = dsp_error_set(err, DSP_ERR_HTTP,
                                   "%s: HTTP %ld from POST %s loading LoRA adapter %s (%s): %s (a vLLM server loads "
                                   "adapters at run time only with VLLM_ALLOW_RUNTIME_LORA_UPDATING=True; or start "
                                   "it with --lora-modules %s=%s)",
                                   lm->model, reply.status, url, name, path, msg, name, path);
                if (err)
                    err->http_status = (int)reply.status;
            }
        }
        dsp_http_reply_free(&reply);
    }
    if (st != DSP_OK)
        dsp_secret_redact_error(err, key);
    if (auth) {
        memset(auth, 0, strlen(auth));
        free(auth);
    }
    free(url);
    cJSON_free(json);
    free(base);
    return st;
}
