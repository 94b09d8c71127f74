/* dsp/knn.h — demos chosen per input by nearest neighbours (knn_fewshot).
 *
 * A call given a dsp_knn (dsp_predict_options.knn) has no fixed demos: each call embeds its inputs with the knn's embedder
 * (one dsp_embed call, cached like any other) and takes as demos the k pool
 * examples whose vectors are nearest, most similar first. The pool and its
 * vectors are plain tables, so generated code bakes them in as static const
 * data and the interpreter builds the same from the state file; both choose
 * through dsp_knn_choose, so they choose alike.
 *
 * The text embedded for a call or a pool example is DSPy's: each input as
 * `name: text` (the text the chat adapter writes for it), joined by " | ".
 * Similarity is the dot product of unit vectors (cosine), summed in double
 * in index order; ties go to the lower pool index.
 */
#ifndef DSP_KNN_H
#define DSP_KNN_H

#include <stddef.h>

#include "dsp/client.h"
#include "dsp/error.h"
#include "dsp/signature.h"
#include "dsp/value.h"

#ifdef __cplusplus
extern "C" {
#endif

typedef struct dsp_knn {
    const dsp_lm_config *embedder; /* the embedding model's lm */
    int dimensions;                /* > 0: sent as `dimensions`; 0: the model's own length */
    size_t k;                      /* demos per call (at most n_pool are used) */
    size_t dim;                    /* the length of each vector */
    const float *vectors;          /* n_pool rows of dim floats, unit length (dsp_knn_normalize) */
    const dsp_demo *pool;          /* the examples to choose from */
    size_t n_pool;
} dsp_knn;

/* "name: text | name: text" for the signature's inputs (texts[i] for input
 * i; a NULL text leaves the input out). malloc'ed; NULL when out of memory
 * or when every text is NULL. */
char *dsp_knn_text(const dsp_signature *sig, const char *const *texts);

/* Scales v[0..dim) to unit length, in double, each result rounded to float
 * (a zero vector stays zero). The same float input gives the same bits on
 * every IEEE machine: squares of floats are exact in double. */
void dsp_knn_normalize(float *v, size_t dim);

/* The indices of the min(k, n_pool) pool vectors nearest to query (unit
 * length), most similar first, into idx; returns how many. */
size_t dsp_knn_nearest(const dsp_knn *knn, const float *query, size_t *idx);

/* The demos of one call: embeds the call's inputs (values of sig's inputs)
 * and writes the nearest pool demos into demos[0..*n) (room for knn->k).
 * A pool of no examples, or k 0, chooses none without a call. label (may
 * be NULL) names the predictor in the embeddings call's trace line and to
 * the client's observer. */
dsp_status dsp_knn_choose(dsp_client *c, const dsp_knn *knn, const char *label, const dsp_signature *sig,
                          const dsp_value *inputs, dsp_demo *demos, size_t *n, dsp_error *err);
/* The same from the inputs' adapter texts (dsp_value_format's; a NULL
 * text leaves its input out). */
dsp_status dsp_knn_choose_texts(dsp_client *c, const dsp_knn *knn, const char *label, const dsp_signature *sig,
                                const char *const *texts, dsp_demo *demos, size_t *n, dsp_error *err);

#ifdef __cplusplus
}
#endif
#endif
