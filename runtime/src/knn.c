/* knn.c — nearest-neighbour demos (dsp/knn.h): the query's text, one
 * embeddings call, a scan of the pool. */
#include "dsp/knn.h"

#include "dsp/embed.h"

#include <math.h>
#include <stdlib.h>
#include <string.h>

char *dsp_knn_text(const dsp_signature *sig, const char *const *texts)
{
    size_t len = 1;
    for (size_t i = 0; i < sig->n_inputs; i++)
        if (texts[i])
            len += strlen(sig->inputs[i].name) + strlen(texts[i]) + 5;
    char *out = malloc(len);
    if (!out)
        return NULL;
    size_t at = 0;
    for (size_t i = 0; i < sig->n_inputs; i++) {
        if (!texts[i])
            continue;
        if (at) {
            memcpy(out + at, " | ", 3);
            at += 3;
        }
        size_t nl = strlen(sig->inputs[i].name), tl = strlen(texts[i]);
        memcpy(out + at, sig->inputs[i].name, nl);
        memcpy(out + at + nl, ": ", 2);
        memcpy(out + at + nl + 2, texts[i], tl);
        at += nl + 2 + tl;
    }
    out[at] = '\0';
    if (at == 0) {
        free(out);
        return NULL;
    }
    return out;
}

void dsp_knn_normalize(float *v, size_t dim)
{
    double sum = 0;
    for (size_t d = 0; d < dim; d++)
        sum += (double)v[d] * (double)v[d];
    if (!(sum > 0))
        return;
    double norm = sqrt(sum);
    for (size_t d = 0; d < dim; d++)
        v[d] = (float)((double)v[d] / norm);
}

size_t dsp_knn_nearest(const dsp_knn *knn, const float *query, size_t *idx)
{
    size_t k = knn->k < knn->n_pool ? knn->k : knn->n_pool;
    if (k == 0)
        return 0;
    double *best = malloc(k * sizeof *best);
    if (!best)
        return 0;
    size_t have = 0;
    for (size_t i = 0; i < knn->n_pool; i++) {
        const float *v = knn->vectors + i * knn->dim;
        double s = 0;
        for (size_t d = 0; d < knn->dim; d++)
            s += (double)query[d] * (double)v[d];
        /* Insert by score, after every equal one: ties keep pool order. */
        size_t at = have;
        while (at > 0 && best[at - 1] < s)
            at--;
        if (at >= k)
            continue;
        size_t last = have < k ? have : k - 1;
        memmove(best + at + 1, best + at, (last - at) * sizeof *best);
        memmove(idx + at + 1, idx + at, (last - at) * sizeof *idx);
        best[at] = s;
        idx[at] = i;
        if (have < k)
            have++;
    }
    free(best);
    return have;
}

dsp_status dsp_knn_choose(dsp_client *c, const dsp_knn *knn, const char *label, const dsp_signature *sig,
                          const dsp_value *inputs, dsp_demo *demos, size_t *n, dsp_error *err)
{
    *n = 0;
    if (!knn || knn->k == 0 || knn->n_pool == 0)
        return DSP_OK;
    char **texts = calloc(sig->n_inputs + 1, sizeof *texts);
    if (!texts)
        return dsp_error_set(err, DSP_ERR_NOMEM, "out of memory choosing demos");
    dsp_status st = DSP_OK;
    for (size_t i = 0; i < sig->n_inputs && st == DSP_OK; i++) {
        size_t len;
        st = dsp_value_format(&inputs[i], sig->inputs[i].type, &texts[i], &len, err);
    }
    if (st == DSP_OK)
        st = dsp_knn_choose_texts(c, knn, label, sig, (const char *const *)texts, demos, n, err);
    for (size_t i = 0; i < sig->n_inputs; i++)
        free(texts[i]);
    free(texts);
    return st;
}

dsp_status dsp_knn_choose_texts(dsp_client *c, const dsp_knn *knn, const char *label, const dsp_signature *sig,
                                const char *const *texts, dsp_demo *demos, size_t *n, dsp_error *err)
{
    *n = 0;
    if (!knn || knn->k == 0 || knn->n_pool == 0)
        return DSP_OK;
    if (!knn->embedder || !knn->vectors || !knn->pool || knn->dim == 0)
        return dsp_error_set(err, DSP_ERR_INVALID, "knn: the embedder, the pool and its vectors are required");
    char *query = dsp_knn_text(sig, texts);
    if (!query)
        return dsp_error_set(err, DSP_ERR_NOMEM, "out of memory choosing demos");
    dsp_status st;
    dsp_embed_options eo = { .dimensions = knn->dimensions, .bypass_cache = false, .label = label };
    dsp_embeddings e;
    const char *one = query;
    st = dsp_embed(c, knn->embedder, &one, 1, &eo, &e, err);
    free(query);
    if (st != DSP_OK)
        return st;
    size_t *idx = NULL;
    if (e.dim != knn->dim)
        st = dsp_error_set(err, DSP_ERR_INVALID,
                           "knn: %s returned vectors of %zu numbers, but the demo pool's have %zu (the embedding "
                           "model or its dimensions changed: optimize again)",
                           knn->embedder->model, e.dim, knn->dim);
    else if (!(idx = malloc(knn->k * sizeof *idx)))
        st = dsp_error_set(err, DSP_ERR_NOMEM, "out of memory choosing demos");
    if (st == DSP_OK) {
        dsp_knn_normalize(e.vectors, e.dim);
        size_t m = dsp_knn_nearest(knn, e.vectors, idx);
        for (size_t j = 0; j < m; j++)
            demos[j] = knn->pool[idx[j]];
        *n = m;
    }
    free(idx);
    dsp_embeddings_free(&e);
    return st;
}
