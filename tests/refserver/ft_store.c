/* ft_store.c — files, jobs and fine-tuned models of the fixture (see
 * ft_store.h). With a state directory, every change is appended to
 * ft-state.jsonl there (and each file's data kept beside it), and a new
 * store replays that log. */
#include "ft_store.h"

#include <errno.h>
#include <math.h>
#include <pthread.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/stat.h>
#include <time.h>

#include <cjson/cJSON.h>

#include "text.h"

struct rs_ft_store {
    pthread_mutex_t lock;
    rs_lora_set *loras;
    unsigned delay_ms;
    uint64_t seed;
    char *dir; /* NULL: nothing persists */
    rs_ft_file **files;
    size_t n_files, cap_files;
    rs_ft_job **jobs;
    size_t n_jobs, cap_jobs;
};

long long rs_ft_now_ms(void)
{
    struct timespec ts;
    clock_gettime(CLOCK_REALTIME, &ts);
    return (long long)ts.tv_sec * 1000 + ts.tv_nsec / 1000000;
}

static void *grow(void *arr, size_t *cap, size_t elem)
{
    size_t nc = *cap ? *cap * 2 : 16;
    void *p = realloc(arr, nc * elem);
    if (!p) {
        /* Like the arena: a fixture that half-works would mislead tests. */
        fputs("dsp-refserver: out of memory\n", stderr);
        abort();
    }
    *cap = nc;
    return p;
}

static char *xstrdup(const char *s)
{
    char *d = s ? strdup(s) : NULL;
    if (s && !d) {
        fputs("dsp-refserver: out of memory\n", stderr);
        abort();
    }
    return d;
}

/* --- persistence ----------------------------------------------------------- */

static void log_event(rs_ft_store *s, cJSON *ev)
{
    if (!s->dir) {
        cJSON_Delete(ev);
        return;
    }
    char path[4096];
    snprintf(path, sizeof path, "%s/ft-state.jsonl", s->dir);
    char *line = cJSON_PrintUnformatted(ev);
    cJSON_Delete(ev);
    FILE *f = line ? fopen(path, "a") : NULL;
    if (!f || fprintf(f, "%s\n", line) < 0 || fclose(f) != 0)
        fprintf(stderr, "dsp-refserver: cannot append to %s: %s\n", path, strerror(errno));
    cJSON_free(line);
}

static void save_data(rs_ft_store *s, const char *id, const char *data, size_t len)
{
    if (!s->dir)
        return;
    char path[4096], tmp[4200];
    snprintf(path, sizeof path, "%s/%s.jsonl", s->dir, id);
    snprintf(tmp, sizeof tmp, "%s.tmp", path);
    FILE *f = fopen(tmp, "wb");
    bool ok = f && fwrite(data, 1, len, f) == len;
    if (f && fclose(f) != 0)
        ok = false;
    if (!ok || rename(tmp, path) != 0)
        fprintf(stderr, "dsp-refserver: cannot write %s: %s\n", path, strerror(errno));
}

/* --- files and jobs (lock held) ------------------------------------------ */

static rs_ft_file *put_file(rs_ft_store *s, const char *id, const char *filename, size_t bytes, long long created,
                            rs_arena *arena, const rs_ft_memory *mem)
{
    rs_ft_file *f = calloc(1, sizeof *f);
    if (!f)
        abort();
    if (id)
        snprintf(f->id, sizeof f->id, "%s", id);
    else
        snprintf(f->id, sizeof f->id, "file-%016llx",
                 (unsigned long long)rs_mix(rs_mix(s->seed ^ 0xf11e0000u) + (uint64_t)(s->n_files + 1)));
    f->arena = *arena; /* taken over: mem and the strings live in it */
    memset(arena, 0, sizeof *arena);
    f->filename = rs_strdup(&f->arena, filename ? filename : "training.jsonl");
    f->bytes = bytes;
    f->created_ms = created;
    f->mem = *mem;
    if (s->n_files == s->cap_files)
        s->files = grow(s->files, &s->cap_files, sizeof *s->files);
    s->files[s->n_files++] = f;
    return f;
}

static rs_ft_file *find_file(const rs_ft_store *s, const char *id)
{
    for (size_t i = 0; id && i < s->n_files; i++)
        if (strcmp(s->files[i]->id, id) == 0)
            return s->files[i];
    return NULL;
}

static rs_ft_job *put_job(rs_ft_store *s, const char *id, const char *base, const char *suffix,
                          const rs_ft_file *file, int n_epochs, bool has_seed, long long seed, long long created)
{
    rs_ft_job *j = calloc(1, sizeof *j);
    if (!j)
        abort();
    /* The seed is mixed before the count is added: seed ^ count would give
     * seed 0's third job the id of seed 2's first (0 ^ 3 == 2 ^ 1), and a
     * restarted fixture with another seed must not know the old ids. */
    uint64_t h = rs_mix(rs_mix(s->seed ^ 0xf70b0000u) + (uint64_t)(s->n_jobs + 1));
    if (id)
        snprintf(j->id, sizeof j->id, "%s", id);
    else
        snprintf(j->id, sizeof j->id, "ftjob-%016llx", (unsigned long long)h);
    j->base_model = xstrdup(base);
    j->suffix = suffix && *suffix ? xstrdup(suffix) : NULL;
    /* The model's short id: the last 8 characters of the job's. */
    size_t il = strlen(j->id);
    const char *short_id = il > 8 ? j->id + il - 8 : j->id;
    size_t n = strlen(base) + (j->suffix ? strlen(j->suffix) : 0) + strlen(short_id) + 8;
    j->ft_model = malloc(n);
    if (!j->ft_model)
        abort();
    snprintf(j->ft_model, n, "ft:%s:%s:%s", base, j->suffix ? j->suffix : "", short_id);
    j->file = file;
    j->n_epochs = n_epochs;
    j->has_seed = has_seed;
    j->seed = seed;
    j->created_ms = created;
    atomic_init(&j->cancelled_ms, 0);
    if (s->n_jobs == s->cap_jobs)
        s->jobs = grow(s->jobs, &s->cap_jobs, sizeof *s->jobs);
    s->jobs[s->n_jobs++] = j;
    return j;
}

static rs_ft_job *find_job(const rs_ft_store *s, const char *id)
{
    for (size_t i = 0; id && i < s->n_jobs; i++)
        if (strcmp(s->jobs[i]->id, id) == 0)
            return s->jobs[i];
    return NULL;
}

/* --- replaying a state directory ------------------------------------------- */

static const char *str_of(const cJSON *o, const char *k)
{
    const cJSON *v = cJSON_GetObjectItemCaseSensitive(o, k);
    return cJSON_IsString(v) ? v->valuestring : NULL;
}

static long long num_of(const cJSON *o, const char *k)
{
    const cJSON *v = cJSON_GetObjectItemCaseSensitive(o, k);
    /* Bounded before the cast: an edited state file must not make it
     * undefined. */
    return cJSON_IsNumber(v) && fabs(v->valuedouble) < 9e15 ? (long long)v->valuedouble : 0;
}

static char *read_all(const char *path, size_t *len)
{
    FILE *f = fopen(path, "rb");
    if (!f)
        return NULL;
    size_t cap = 65536, n = 0;
    char *b = malloc(cap);
    size_t got;
    while (b && (got = fread(b + n, 1, cap - n, f)) > 0) {
        n += got;
        if (n == cap) {
            char *nb = realloc(b, cap *= 2);
            if (!nb) {
                free(b);
                b = NULL;
            } else {
                b = nb;
            }
        }
    }
    fclose(f);
    *len = n;
    return b;
}

static bool replay_line(rs_ft_store *s, const cJSON *ev, char *err, size_t err_size)
{
    const cJSON *fo = cJSON_GetObjectItemCaseSensitive(ev, "file");
    const cJSON *jo = cJSON_GetObjectItemCaseSensitive(ev, "job");
    const cJSON *co = cJSON_GetObjectItemCaseSensitive(ev, "cancel");
    if (cJSON_IsObject(fo)) {
        const char *id = str_of(fo, "id");
        char path[4096];
        snprintf(path, sizeof path, "%s/%s.jsonl", s->dir, id ? id : "?");
        size_t len = 0;
        char *data = id ? read_all(path, &len) : NULL;
        if (!data) {
            snprintf(err, err_size, "state directory: cannot read %s", path);
            return false;
        }
        rs_arena a;
        rs_arena_init(&a);
        rs_ft_memory mem;
        const char *msg;
        if (!rs_ft_memory_parse(&a, data, len, &mem, &msg)) {
            snprintf(err, err_size, "state directory: %s: %s", path, msg);
            rs_arena_free(&a);
            free(data);
            return false;
        }
        put_file(s, id, str_of(fo, "filename"), len, num_of(fo, "created_ms"), &a, &mem);
        free(data);
    } else if (cJSON_IsObject(jo)) {
        const rs_ft_file *f = find_file(s, str_of(jo, "file"));
        const char *id = str_of(jo, "id"), *base = str_of(jo, "model");
        if (!f || !id || !base) {
            snprintf(err, err_size, "state directory: job %s refers to an unknown file", id ? id : "?");
            return false;
        }
        put_job(s, id, base, str_of(jo, "suffix"), f, (int)num_of(jo, "n_epochs"),
                cJSON_IsTrue(cJSON_GetObjectItemCaseSensitive(jo, "has_seed")), num_of(jo, "seed"),
                num_of(jo, "created_ms"));
    } else if (cJSON_IsObject(co)) {
        rs_ft_job *j = find_job(s, str_of(co, "id"));
        if (j)
            atomic_store(&j->cancelled_ms, num_of(co, "at_ms"));
    }
    return true;
}

static bool replay(rs_ft_store *s, char *err, size_t err_size)
{
    char path[4096];
    snprintf(path, sizeof path, "%s/ft-state.jsonl", s->dir);
    size_t len = 0;
    char *data = read_all(path, &len);
    if (!data)
        return true; /* a new state directory */
    bool ok = true;
    char *p = data, *end = data + len;
    while (ok && p < end) {
        char *nl = memchr(p, '\n', (size_t)(end - p));
        char *e = nl ? nl : end;
        cJSON *ev = cJSON_ParseWithLength(p, (size_t)(e - p));
        /* A line cut by a crash is the last one: the rest is whole. */
        if (ev)
            ok = replay_line(s, ev, err, err_size);
        cJSON_Delete(ev);
        p = e + 1;
    }
    free(data);
    return ok;
}

/* --- the API --------------------------------------------------------------- */

rs_ft_store *rs_ft_store_new(unsigned delay_ms, uint64_t seed, const char *state_dir, char *err, size_t err_size)
{
    rs_ft_store *s = calloc(1, sizeof *s);
    if (!s) {
        snprintf(err, err_size, "out of memory");
        return NULL;
    }
    pthread_mutex_init(&s->lock, NULL);
    if (!(s->loras = rs_lora_set_new())) {
        snprintf(err, err_size, "out of memory");
        free(s);
        return NULL;
    }
    s->delay_ms = delay_ms;
    s->seed = seed;
    if (state_dir) {
        if (mkdir(state_dir, 0700) != 0 && errno != EEXIST) {
            snprintf(err, err_size, "cannot create the state directory %s: %s", state_dir, strerror(errno));
            rs_ft_store_free(s);
            return NULL;
        }
        s->dir = xstrdup(state_dir);
        if (!replay(s, err, err_size)) {
            rs_ft_store_free(s);
            return NULL;
        }
    }
    return s;
}

void rs_ft_store_free(rs_ft_store *s)
{
    if (!s)
        return;
    for (size_t i = 0; i < s->n_jobs; i++) {
        free(s->jobs[i]->base_model);
        free(s->jobs[i]->suffix);
        free(s->jobs[i]->ft_model);
        free(s->jobs[i]);
    }
    for (size_t i = 0; i < s->n_files; i++) {
        rs_arena_free(&s->files[i]->arena);
        free(s->files[i]);
    }
    free(s->jobs);
    free(s->files);
    free(s->dir);
    rs_lora_set_free(s->loras);
    pthread_mutex_destroy(&s->lock);
    free(s);
}

const rs_ft_file *rs_ft_store_add_file(rs_ft_store *s, const char *filename, const char *data, size_t len,
                                       rs_arena *arena, const rs_ft_memory *mem)
{
    pthread_mutex_lock(&s->lock);
    rs_ft_file *f = put_file(s, NULL, filename, len, rs_ft_now_ms(), arena, mem);
    save_data(s, f->id, data, len);
    cJSON *ev = cJSON_CreateObject();
    cJSON *o = cJSON_AddObjectToObject(ev, "file");
    cJSON_AddStringToObject(o, "id", f->id);
    cJSON_AddStringToObject(o, "filename", f->filename);
    cJSON_AddNumberToObject(o, "created_ms", (double)f->created_ms);
    log_event(s, ev);
    pthread_mutex_unlock(&s->lock);
    return f;
}

const rs_ft_file *rs_ft_store_file(rs_ft_store *s, const char *id)
{
    pthread_mutex_lock(&s->lock);
    const rs_ft_file *f = find_file(s, id);
    pthread_mutex_unlock(&s->lock);
    return f;
}

const rs_ft_job *rs_ft_store_add_job(rs_ft_store *s, const char *base_model, const char *suffix,
                                     const rs_ft_file *file, int n_epochs, bool has_seed, long long seed)
{
    pthread_mutex_lock(&s->lock);
    rs_ft_job *j = put_job(s, NULL, base_model, suffix, file, n_epochs, has_seed, seed, rs_ft_now_ms());
    cJSON *ev = cJSON_CreateObject();
    cJSON *o = cJSON_AddObjectToObject(ev, "job");
    cJSON_AddStringToObject(o, "id", j->id);
    cJSON_AddStringToObject(o, "model", j->base_model);
    if (j->suffix)
        cJSON_AddStringToObject(o, "suffix", j->suffix);
    cJSON_AddStringToObject(o, "file", file->id);
    cJSON_AddNumberToObject(o, "n_epochs", n_epochs);
    cJSON_AddBoolToObject(o, "has_seed", has_seed);
    cJSON_AddNumberToObject(o, "seed", (double)seed);
    cJSON_AddNumberToObject(o, "created_ms", (double)j->created_ms);
    log_event(s, ev);
    pthread_mutex_unlock(&s->lock);
    return j;
}

const rs_ft_job *rs_ft_store_job(rs_ft_store *s, const char *id)
{
    pthread_mutex_lock(&s->lock);
    const rs_ft_job *j = find_job(s, id);
    pthread_mutex_unlock(&s->lock);
    return j;
}

const rs_ft_job *rs_ft_store_job_at(rs_ft_store *s, size_t i)
{
    pthread_mutex_lock(&s->lock);
    const rs_ft_job *j = i < s->n_jobs ? s->jobs[i] : NULL;
    pthread_mutex_unlock(&s->lock);
    return j;
}

rs_ft_status rs_ft_job_status(const rs_ft_store *s, const rs_ft_job *j, long long now_ms, rs_arena *a,
                              const char **error, long long *finished_ms)
{
    long long validated = j->created_ms + s->delay_ms / 3, done = j->created_ms + s->delay_ms;
    long long cancelled = atomic_load(&((rs_ft_job *)j)->cancelled_ms);
    bool too_few = j->file->mem.n_examples < RS_FT_MIN_EXAMPLES;
    long long end = too_few ? validated : done;
    if (error)
        *error = NULL;
    if (finished_ms)
        *finished_ms = 0;
    if (cancelled && cancelled < end && cancelled <= now_ms) {
        if (finished_ms)
            *finished_ms = cancelled;
        return RS_FT_CANCELLED;
    }
    if (now_ms < validated)
        return RS_FT_VALIDATING;
    if (too_few) {
        if (error && a) {
            rs_buf b;
            rs_buf_init(&b, a);
            rs_buf_printf(&b, "Training file %s has %zu example(s), but must have at least %d examples",
                          j->file->id, j->file->mem.n_examples, RS_FT_MIN_EXAMPLES);
            *error = rs_buf_str(&b);
        }
        if (finished_ms)
            *finished_ms = validated;
        return RS_FT_FAILED;
    }
    if (now_ms < done)
        return RS_FT_RUNNING;
    if (finished_ms)
        *finished_ms = done;
    return RS_FT_SUCCEEDED;
}

const char *rs_ft_status_name(rs_ft_status st)
{
    static const char *const names[] = {"validating_files", "running", "succeeded", "failed", "cancelled"};
    return (unsigned)st < sizeof names / sizeof names[0] ? names[st] : "?";
}

bool rs_ft_store_cancel(rs_ft_store *s, const rs_ft_job *j)
{
    pthread_mutex_lock(&s->lock);
    long long now = rs_ft_now_ms();
    rs_ft_status st = rs_ft_job_status(s, j, now, NULL, NULL, NULL);
    bool ok = st == RS_FT_VALIDATING || st == RS_FT_RUNNING;
    if (ok) {
        atomic_store(&((rs_ft_job *)j)->cancelled_ms, now);
        cJSON *ev = cJSON_CreateObject();
        cJSON *o = cJSON_AddObjectToObject(ev, "cancel");
        cJSON_AddStringToObject(o, "id", j->id);
        cJSON_AddNumberToObject(o, "at_ms", (double)now);
        log_event(s, ev);
    }
    pthread_mutex_unlock(&s->lock);
    return ok;
}

const rs_ft_memory *rs_ft_store_model(rs_ft_store *s, const char *name)
{
    long long now = rs_ft_now_ms();
    const rs_ft_memory *m = NULL;
    pthread_mutex_lock(&s->lock);
    for (size_t i = 0; i < s->n_jobs && !m; i++)
        if (strcmp(s->jobs[i]->ft_model, name) == 0 &&
            rs_ft_job_status(s, s->jobs[i], now, NULL, NULL, NULL) == RS_FT_SUCCEEDED)
            m = &s->jobs[i]->file->mem;
    pthread_mutex_unlock(&s->lock);
    return m;
}

rs_lora_set *rs_ft_store_loras(rs_ft_store *s)
{
    return s->loras;
}
