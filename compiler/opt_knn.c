/* opt_knn.c — knn_fewshot(k): DSPy's KNNFewShot. Every training example
 * with a predictor's fields joins that predictor's pool, embedded once by
 * the optimize block's embedder; at run time each input's k nearest pool
 * examples are its demos (dsp/knn.h). The search is that one candidate,
 * scored on the whole valset against the unoptimized program. */
#include <stdio.h>

#include "opt.h"

dsp_status opt_knn_fewshot(const opt_params *p, const opt_backend *b, arena *a, opt_result *out, dsp_error *err)
{
    if (!b->embed_demos)
        return dsp_error_set(err, DSP_ERR_INVALID, "knn_fewshot: this backend cannot embed demos");
    size_t n_val;
    size_t *val = opt_val_rows(b, a, p->seed, 0, &n_val);
    opt_program zero = opt_program_zero_shot(b, a);
    opt_score s;
    dsp_status st = b->evaluate(b->ctx, &zero, val, n_val, &s, err);
    if (st != DSP_OK)
        return st;
    out->baseline_score = s.mean;
    opt_result_add_trial(out, a, &s, 1, "zero-shot");

    out->best = opt_program_zero_shot(b, a);
    opt_knn *knn = arena_array(a, b->n_preds + 1, sizeof *knn);
    size_t pooled = 0;
    for (size_t pr = 0; pr < b->n_preds; pr++) {
        opt_demo *items = arena_array(a, b->n_train + 1, sizeof *items);
        size_t m = 0;
        for (size_t row = 0; row < b->n_train; row++) {
            int ok = 0;
            st = b->labeled_demo(b->ctx, a, row, pr, &items[m], &ok, err);
            if (st != DSP_OK)
                return st;
            m += ok != 0;
        }
        if (m == 0)
            continue; /* the rows lack this predictor's fields: it keeps no demos */
        if (b->progress) {
            char msg[160];
            snprintf(msg, sizeof msg, "embedding %zu training examples of %s", m, b->pred_names[pr]);
            b->progress(b->ctx, msg);
        }
        float *vectors = NULL;
        size_t dim = 0;
        st = b->embed_demos(b->ctx, a, pr, items, m, &vectors, &dim, err);
        if (st != DSP_OK)
            return st;
        knn[pr] = (opt_knn){ (size_t)p->k, { items, m }, vectors, dim };
        pooled++;
    }
    if (pooled == 0)
        return dsp_error_set(err, DSP_ERR_INVALID,
                             "knn_fewshot: no training row has the inputs and outputs of any predictor, so there "
                             "is nothing to choose demos from");
    out->best.knn = knn;
    st = b->evaluate(b->ctx, &out->best, val, n_val, &s, err);
    if (st != DSP_OK)
        return st;
    out->final_score = s.mean;
    char label[64];
    snprintf(label, sizeof label, "knn k=%d", p->k);
    opt_result_add_trial(out, a, &s, 1, label);
    out->n_demo_candidates = 1;
    return DSP_OK;
}
