/* ft_store.h — the fixture's fine-tuning state: uploaded training files,
 * jobs and the models they produce.
 *
 * A job is a timeline, not a worker: from its creation it is
 * validating_files for the first third of --ft-delay-ms, then running, then
 * succeeded (or failed, when validation finds fewer than 10 examples, as
 * OpenAI requires; or cancelled). Status follows from the wall clock, so a
 * fixture restarted with the same --state-dir serves the same jobs and
 * models. Files and jobs are never freed before the store: the pointers the
 * functions return stay valid, and only a job's cancel time ever changes
 * (atomically). All functions are thread-safe.
 */
#ifndef RS_FT_STORE_H
#define RS_FT_STORE_H

#include <stdatomic.h>
#include <stdbool.h>
#include <stddef.h>
#include <stdint.h>

#include "arena.h"
#include "ft_lora.h"
#include "ft_memory.h"

/* OpenAI's minimum number of training examples. */
#define RS_FT_MIN_EXAMPLES 10

typedef struct rs_ft_file {
    char id[32];
    const char *filename;
    size_t bytes;
    long long created_ms; /* wall clock */
    rs_ft_memory mem;
    rs_arena arena; /* owns filename and mem */
} rs_ft_file;

typedef struct rs_ft_job {
    char id[32];
    char *base_model;
    char *suffix;        /* NULL: none */
    char *ft_model;      /* "ft:<base>:<suffix>:<short id>" */
    const rs_ft_file *file;
    int n_epochs;        /* 0: auto (3) */
    bool has_seed;
    long long seed;
    long long created_ms;
    atomic_llong cancelled_ms; /* 0: not cancelled */
} rs_ft_job;

typedef enum rs_ft_status {
    RS_FT_VALIDATING,
    RS_FT_RUNNING,
    RS_FT_SUCCEEDED,
    RS_FT_FAILED,
    RS_FT_CANCELLED
} rs_ft_status;

typedef struct rs_ft_store rs_ft_store;

/* state_dir NULL: nothing persists. On failure NULL with a message in err. */
rs_ft_store *rs_ft_store_new(unsigned delay_ms, uint64_t seed, const char *state_dir, char *err, size_t err_size);
void rs_ft_store_free(rs_ft_store *s);

long long rs_ft_now_ms(void);

/* Stores a training file whose data parsed into mem (in arena, which the
 * store takes over). Returns the file. */
const rs_ft_file *rs_ft_store_add_file(rs_ft_store *s, const char *filename, const char *data, size_t len,
                                       rs_arena *arena, const rs_ft_memory *mem);
const rs_ft_file *rs_ft_store_file(rs_ft_store *s, const char *id);

/* Creates a job (strings copied). */
const rs_ft_job *rs_ft_store_add_job(rs_ft_store *s, const char *base_model, const char *suffix,
                                     const rs_ft_file *file, int n_epochs, bool has_seed, long long seed);
const rs_ft_job *rs_ft_store_job(rs_ft_store *s, const char *id);
/* The i-th job in order of creation; NULL past the last. */
const rs_ft_job *rs_ft_store_job_at(rs_ft_store *s, size_t i);

/* The job's status at now_ms; when the job failed, *error (may be NULL)
 * gets the reason (in a). finished_ms (may be NULL): when it ended, or 0. */
rs_ft_status rs_ft_job_status(const rs_ft_store *s, const rs_ft_job *j, long long now_ms, rs_arena *a,
                              const char **error, long long *finished_ms);
const char *rs_ft_status_name(rs_ft_status st);

/* Cancels a job that has not ended; false when it had. */
bool rs_ft_store_cancel(rs_ft_store *s, const rs_ft_job *j);

/* What the fine-tuned model `name` learned, once its job succeeded; NULL
 * for a name no succeeded job produced. */
const rs_ft_memory *rs_ft_store_model(rs_ft_store *s, const char *name);

/* The LoRA adapters served (ft_lora.h). */
rs_lora_set *rs_ft_store_loras(rs_ft_store *s);

#endif
