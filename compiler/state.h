/* state.h — an optimized program: what the optimizer found and the C
 * backend bakes in.
 *
 * The contract between compiler/opt (writes it) and compiler/codegen (reads
 * it). On disk it is `NAME.state.json` beside the build output: JSON with
 * keys in a fixed order, two-space indentation, one demo field per line,
 * predictors sorted by name, so a re-optimization diffs well in review.
 *
 *   {
 *     "dspcc_state": 1,
 *     "program": "TicketClassifier",
 *     "source": "tickets.dsp",
 *     "source_sha256": "9f86d0...",
 *     "optimizer": "mipro",
 *     "seed": 7,
 *     "metric": "accuracy",
 *     "valset": "dev",                         (or "trainset holdout": no valset was declared)
 *     "holdout_rows": [3, 17, 42],             (then: the trainset rows scored, from 0, in data
 *                                               order; dspcc eval --holdout runs them)
 *     "baseline_score": 0.41,                  (the unoptimized program, whole valset)
 *     "final_score": 0.83,                     (what ships, whole valset: dspcc eval --state prints it)
 *     "optimized_score": 0.83,                 (the optimizer's program, whole valset)
 *     "shipped": "optimized",                  (or "unoptimized": the optimizer's did not beat it; or
 *                                               "optimized, regression allowed": --allow-regression)
 *     "shipped_reason": "...",                 (absent when "optimized")
 *     "valset_examples": 459,                  (behind the three scores)
 *     "search_examples": 100,                  (absent: the search chose on the whole valset)
 *     "failed_examples": 3,                    (summed over the trials)
 *     "teacher_runs": 60,
 *     "failed_teacher_runs": 0,
 *     "lm_calls": 1234,
 *     "predictors": [
 *       {
 *         "name": "TicketClassifier.r",
 *         "instructions": "Classify ...",
 *         "lm": "teacher",                      (name of an `lm` declaration; absent: the program's)
 *         "model": "ft:gpt-4o-mini:acme::abc",  (absent: the lm's model; a fine-tuned model reference)
 *         "adapter": { "name": "dspcc-0a1b...", "path": "lora/x", "sha256": "..." },  (absent: none)
 *         "inputs": ["ticket_text"],             (present with demos: the keys demos use)
 *         "outputs": ["reasoning", "category"],
 *         "demos": [
 *           { "inputs": { "ticket_text": "..." },
 *             "outputs": { "reasoning": "...", "category": "billing" } }
 *         ],
 *         "knn": { "k": 3, "embedder": "embed", "dimensions": 256, "dim": 256,   (knn_fewshot only:
 *                  "vectors": [[0.0123, ...], ...] }       the demos are a pool, one vector each)
 *         "ensemble": { "field": "category", "members": [   (ensemble only: each member's
 *             { "instructions": "...", "demos": [...] }, ... ] }   prompt; they vote on field;
 *                                                  with "size": 2, "seed": 7, each call runs 2, drawn per input)
 *       }
 *     ],
 *     "trials": [ { "trial": 1, "score": 0.5, "full_eval": true, "examples": 100, "failed": 0,
 *                   "config": "i2 d0 ..." } ]
 *   }
 *
 * The keys from optimized_score to failed_teacher_runs, and a trial's
 * examples and failed, are written by every dspcc that has them; states
 * written before lack them and read as before.
 *
 * Demo values are the exact text the chat adapter writes in each
 * `[[ ## field ## ]]` block (dsp_value_format), keyed by field name; a field
 * left out of a demo is absent (NULL in memory).
 */
#ifndef DSPCC_STATE_H
#define DSPCC_STATE_H

#include <stddef.h>

#include "dsp/error.h"

typedef struct st_demo {
    char **inputs;          /* one per signature input, in signature order; NULL: absent */
    size_t n_inputs;
    char **outputs;         /* one per predictor output (reasoning first for CoT); NULL: absent */
    size_t n_outputs;
} st_demo;

/* One member of an ensemble: its instructions and demos of the predictor. */
typedef struct st_member {
    char *instructions;     /* NULL: the signature's */
    st_demo *demos;
    size_t n_demos;
} st_member;

typedef struct st_predictor {
    char *name;             /* ir_predictor.name */
    char *instructions;     /* NULL: the signature's */
    char *lm;               /* NULL: the optimize block's lm */
    char *model;            /* NULL: the lm's model; else a fine-tuned model reference */
    char *adapter_name;     /* the name its server serves it by (vLLM: the request's model); may be NULL */
    char *adapter_path;     /* LoRA adapter, relative to the .dsp directory; NULL: none */
    char *adapter_sha256;   /* hex, with adapter_path */
    /* The field names demo values are keyed by on disk ("inputs"/"outputs"
     * of the predictor object): the signature's inputs and the predictor's
     * outputs (ir_predictor.outputs), in order. Required when n_demos > 0;
     * every demo has n_input_names inputs and n_output_names outputs. */
    char **input_names;
    size_t n_input_names;
    char **output_names;
    size_t n_output_names;
    st_demo *demos;
    size_t n_demos;
    /* knn_fewshot (knn_k > 0): the demos are a pool; each call takes the
     * knn_k nearest by knn_embedder's vectors (dsp/knn.h). */
    int knn_k;
    char *knn_embedder;     /* the embedding model's lm declaration */
    int knn_dimensions;     /* sent as `dimensions`; 0: not sent */
    size_t knn_dim;         /* floats per vector */
    float *knn_vectors;     /* n_demos * knn_dim, unit length, the pool's in demo order */
    /* ensemble (n_members > 0): every member runs and they vote on output
     * ensemble_field (dsp/ensemble.h); the predictor's own instructions and
     * demos are member 0's. */
    st_member *members;
    size_t n_members;
    char *ensemble_field;
    long long ensemble_size;   /* members a call runs, drawn per input with ensemble_seed; 0: all */
    long long ensemble_seed;
} st_predictor;

typedef struct st_trial {
    int trial;
    double score;
    int full_eval;          /* scored on every row the search scores on (the valset or its sample), not a
                               minibatch */
    char *config;           /* human-readable choice, e.g. "TicketClassifier.r: instr 2, demos 1" */
    int has_counts;         /* examples and failed are known */
    long long examples;     /* examples scored */
    long long failed;       /* of which failed (they score 0) */
    int has_usage;          /* the four below are known */
    long long prompt_tokens, completion_tokens; /* LM usage since the previous trial, its scoring included */
    double cost_usd;        /* at the lms' prices; < 0: some call had no price */
    double seconds;
} st_trial;

typedef struct st_state {
    char *program;          /* the optimized module */
    char *source;           /* the .dsp file name */
    char *source_sha256;
    char *optimizer;
    long long seed;
    char *metric;
    char *valset;
    long long *holdout_rows;   /* with valset "trainset holdout": the rows scored, ascending; else NULL */
    size_t n_holdout_rows;
    double baseline_score;
    double final_score;
    int has_scores_detail;  /* the keys below are known (older states lack them) */
    double optimized_score;
    char *shipped;          /* "optimized", "unoptimized", "optimized, regression allowed" */
    char *shipped_reason;   /* NULL when "optimized" */
    long long valset_examples;
    long long search_examples; /* 0: the search chose on the whole valset */
    long long failed_examples;
    long long teacher_runs, failed_teacher_runs;
    long long lm_calls;     /* predictor calls the search made, cache hits included:
                               the same for a cold and a warm run, so the
                               file does not change when only the cache did */
    int has_usage;          /* the three below are known (states before them lack them) */
    long long prompt_tokens, completion_tokens; /* the run's, cache hits counted as first made */
    double cost_usd;        /* those at the lms' prices; < 0: some call had no price */
    st_predictor *predictors; /* sorted by name */
    size_t n_predictors;
    st_trial *trials;
    size_t n_trials;
} st_state;

/* Writes the canonical text (see above) atomically (temporary file, then
 * rename), so an interrupted write never leaves half a state behind. */
dsp_status st_write_file(const st_state *s, const char *path, dsp_error *err);
/* The canonical text in a malloc'ed, NUL-terminated buffer. */
dsp_status st_write_text(const st_state *s, char **out, size_t *len, dsp_error *err);
/* Reads a state file; a malformed file or an unknown key is an error naming
 * the file and the key. */
dsp_status st_read_file(const char *path, st_state *out, dsp_error *err);
void st_free(st_state *s);

const st_predictor *st_predictor_find(const st_state *s, const char *name);

#endif
