/* fuzz_check.c — randomized mutation test of the front end.
 *
 * Takes the examples, mutates them (byte flips, truncation, splicing,
 * deleted and duplicated chunks, inserted tokens, deep nesting, a 10 MB
 * line, invalid UTF-8, binary garbage, the empty file) and runs the whole
 * checker on each in-process, printing diagnostics to /dev/null. A crash,
 * a sanitizer report (it runs under ASan+UBSan in `make check-asan`), a
 * leak, or a case taking longer than CASE_TIMEOUT seconds fails the test.
 *
 * Deterministic for a seed: DSP_FUZZ_SEED (default 20261124); bounded in
 * time: DSP_FUZZ_SECONDS (default 15). A failing case prints its seed and
 * number so it can be replayed.
 */
#include <signal.h>
#include <stdint.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <time.h>
#include <unistd.h>

#include "arena.h"
#include "diag.h"
#include "ir_json.h"
#include "parse.h"
#include "sema.h"

#define CASE_TIMEOUT 10

static const char *const examples[] = {
    "examples/tickets/tickets.dsp",
    "examples/multihop/multihop.dsp",
    "examples/extract/extract.dsp",
};
#define N_EXAMPLES (sizeof examples / sizeof examples[0])

static const char *const tokens[] = {
    "signature", "module", "metric", "data", "lm", "optimize", "import", "tool", "enum",
    "in", "out", "return", "repeat", "if", "else", "with", "from", "and", "or", "not",
    "{", "}", "(", ")", "[", "]", "<", ">", ",", ":", ".", "=", "->", "==", "!=", "*",
    "\"", "\"x\"", "/*", "*/", "//", "0", "-1", "99999999999999999999", "1e999", "list<",
    "optional<", "string", "int", "float", "bool", "true", "false", "predict", "chain_of_thought",
    "judge(", "exact_match(", "f1(", "ex.", "pred.", "\n", "\\", "\xff", "\xc3", "\x00",
};
#define N_TOKENS (sizeof tokens / sizeof tokens[0])

static uint64_t rng_state;
static unsigned long long case_no;
static unsigned long long seed;

static uint64_t rnd(void)
{
    /* splitmix64: small, good enough, reproducible everywhere */
    uint64_t z = (rng_state += 0x9E3779B97F4A7C15u);
    z = (z ^ (z >> 30)) * 0xBF58476D1CE4E5B9u;
    z = (z ^ (z >> 27)) * 0x94D049BB133111EBu;
    return z ^ (z >> 31);
}

static size_t rnd_below(size_t n) { return n ? (size_t)(rnd() % n) : 0; }

typedef struct buf {
    char *p;
    size_t len, cap;
} buf;

static void buf_reserve(buf *b, size_t n)
{
    if (b->len + n + 1 <= b->cap)
        return;
    size_t cap = (b->len + n + 1) * 2;
    char *p = realloc(b->p, cap);
    if (!p) {
        fprintf(stderr, "fuzz_check: out of memory\n");
        exit(2);
    }
    b->p = p;
    b->cap = cap;
}

static void buf_insert(buf *b, size_t at, const char *s, size_t n)
{
    buf_reserve(b, n);
    memmove(b->p + at + n, b->p + at, b->len - at);
    memcpy(b->p + at, s, n);
    b->len += n;
}

static char *read_file(const char *path, size_t *len)
{
    FILE *fp = fopen(path, "rb");
    if (!fp)
        return NULL;
    fseek(fp, 0, SEEK_END);
    long n = ftell(fp);
    fseek(fp, 0, SEEK_SET);
    char *p = malloc((size_t)n + 1);
    if (p && fread(p, 1, (size_t)n, fp) != (size_t)n) {
        free(p);
        p = NULL;
    }
    fclose(fp);
    *len = (size_t)n;
    return p;
}

static void on_alarm(int sig)
{
    (void)sig;
    static const char msg[] = "not ok - a case took longer than the time limit (hang)\n";
    if (write(2, msg, sizeof msg - 1) < 0) {}
    _exit(1);
}

static FILE *devnull;

static void run_case(const char *path, const char *text, size_t len)
{
    alarm(CASE_TIMEOUT);
    arena a;
    arena_init(&a);
    diag d;
    diag_init(&d, &a, devnull);
    source_file *src = source_from_string(&a, path, text, len);
    ir_program *p = sema_check_source(&a, &d, src);
    if (p) {
        char *json = ir_to_json(p);
        free(json);
    }
    arena_free(&a);
    alarm(0);
}

static void mutate(buf *b, char *const *texts, const size_t *lens)
{
    int rounds = 1 + (int)rnd_below(4);
    for (int r = 0; r < rounds; r++) {
        switch (rnd_below(8)) {
        case 0: /* flip bytes */
            for (int i = 0, n = 1 + (int)rnd_below(8); i < n && b->len; i++)
                b->p[rnd_below(b->len)] ^= (char)(1u << rnd_below(8));
            break;
        case 1: /* truncate */
            b->len = rnd_below(b->len + 1);
            break;
        case 2: { /* splice a chunk of another example */
            size_t e = rnd_below(N_EXAMPLES);
            size_t from = rnd_below(lens[e]), n = rnd_below(lens[e] - from + 1);
            buf_insert(b, rnd_below(b->len + 1), texts[e] + from, n);
            break;
        }
        case 3: { /* delete a chunk */
            size_t at = rnd_below(b->len + 1), n = rnd_below(b->len - at + 1);
            memmove(b->p + at, b->p + at + n, b->len - at - n);
            b->len -= n;
            break;
        }
        case 4: { /* duplicate a chunk */
            size_t at = rnd_below(b->len + 1), n = rnd_below(b->len - at + 1);
            if (n > 4096)
                n = 4096;
            char *tmp = malloc(n + 1);
            memcpy(tmp, b->p + at, n);
            buf_insert(b, rnd_below(b->len + 1), tmp, n);
            free(tmp);
            break;
        }
        default: /* insert tokens */
            for (int i = 0, n = 1 + (int)rnd_below(6); i < n; i++) {
                const char *t = tokens[rnd_below(N_TOKENS)];
                size_t tl = strlen(t);
                if (tl == 0)
                    tl = 1;  /* the NUL token */
                buf_insert(b, rnd_below(b->len + 1), t, tl);
            }
        }
    }
}

/* A program whose data files are mutated instead of its text: exercises
 * the JSONL and CSV readers of sema_data.c. */
static const char data_program[] =
    "signature S { in q: string out label: enum { a, b } }\n"
    "module M(q: string) -> (label: enum { a, b }) {\n"
    "  r = predict(S)(q: q)\n"
    "  return r\n"
    "}\n"
    "lm l = \"openai/x\"\n"
    "data t = jsonl(\"d.jsonl\") { q -> q, label -> label, extra -> extra }\n"
    "data c = csv(\"d.csv\") { q -> q, label -> label, extra -> extra }\n"
    "metric m(ex, pred) = pred.label == ex.label and ex.extra in [\"x\", \"y\"]\n"
    "optimize M with labeled_fewshot { metric: m trainset: t valset: c lm: l }\n";
static const char seed_jsonl[] =
    "{\"q\": \"hi\", \"label\": \"a\", \"extra\": \"x\"}\n"
    "{\"q\": \"yo\", \"label\": \"b\", \"extra\": [\"y\"]}\n";
static const char seed_csv[] = "q,label,extra\n\"h,i\",a,x\nyo,b,\"y\"\"z\"\n\n";

static int write_file(const char *dir, const char *name, const char *text, size_t len)
{
    char path[256];
    snprintf(path, sizeof path, "%s/%s", dir, name);
    FILE *fp = fopen(path, "wb");
    if (!fp)
        return 0;
    fwrite(text, 1, len, fp);
    fclose(fp);
    return 1;
}

static void run_data_case(const char *dir, buf *b, char *const *texts, const size_t *lens)
{
    int csv = (int)rnd_below(2);
    const char *seed = csv ? seed_csv : seed_jsonl;
    b->len = 0;
    buf_insert(b, 0, seed, strlen(seed));
    mutate(b, texts, lens);
    write_file(dir, "d.jsonl", csv ? seed_jsonl : b->p, csv ? strlen(seed_jsonl) : b->len);
    write_file(dir, "d.csv", csv ? b->p : seed_csv, csv ? b->len : strlen(seed_csv));
    char path[256];
    snprintf(path, sizeof path, "%s/p.dsp", dir);
    run_case(path, data_program, sizeof data_program - 1);
}

/* Inputs every run checks, whatever the seed. */
static void run_fixed_cases(void)
{
    const char *path = examples[0];
    run_case(path, "", 0);
    size_t big = 10u * 1024u * 1024u;
    char *s = malloc(big + 64);
    /* a 10 MB string literal on one line, then a 10 MB identifier */
    memcpy(s, "signature S \"", 13);
    memset(s + 13, 'a', big);
    memcpy(s + 13 + big, "\" { in q: string out a: string }\n", 33);
    run_case(path, s, big + 46);
    memset(s, 'x', big);
    run_case(path, s, big);
    /* deep nesting of every bracket, and of unary operators */
    const char *open[] = { "(", "[", "{", "not ", "-", "list<" };
    for (size_t k = 0; k < 6; k++) {
        size_t n = 0, ol = strlen(open[k]);
        n += (size_t)sprintf(s, k == 5 ? "signature S { in x: " : "metric m(ex, pred) = ");
        for (int i = 0; i < 100000; i++, n += ol)
            memcpy(s + n, open[k], ol);
        run_case(path, s, n);
    }
    /* a very long flat expression */
    size_t n = (size_t)sprintf(s, "metric m(ex, pred) = 1");
    for (int i = 0; i < 200000; i++, n += 4)
        memcpy(s + n, " + 1", 4);
    run_case(path, s, n);
    /* a chain of 20000 modules, each calling the next */
    n = (size_t)sprintf(s, "signature S { in q: string out a: string }\n");
    for (int i = 0; i < 20000; i++)
        n += (size_t)sprintf(s + n, "module M%d(q: string) -> (a: string) { r = M%d(q: q) return r }\n",
                             i, i + 1);
    n += (size_t)sprintf(s + n, "module M20000(q: string) -> (a: string) { r = predict(S)(q: q) return r }\n");
    run_case(path, s, n);
    /* a long `else if` chain: nesting without open brackets */
    n = (size_t)sprintf(s, "signature S { in q: string out a: string }\n"
                           "module M(q: string) -> (a: string) {\n r = predict(S)(q: q)\n");
    for (int i = 0; i < 50000; i++)
        n += (size_t)sprintf(s + n, " if q == \"%d\" { r = predict(S)(q: q) } else", i);
    n += (size_t)sprintf(s + n, " { r = predict(S)(q: q) }\n return r\n}\n");
    run_case(path, s, n);
    /* invalid UTF-8 and binary garbage */
    run_case(path, "signature \xc3\x28 \"\xed\xa0\x80\" {}", 19);
    for (size_t i = 0; i < 65536; i++)
        s[i] = (char)rnd();
    run_case(path, s, 65536);
    free(s);
}

int main(void)
{
    const char *env = getenv("DSP_FUZZ_SEED");
    seed = env ? strtoull(env, NULL, 10) : 20261124u;
    env = getenv("DSP_FUZZ_SECONDS");
    double budget = env ? atof(env) : 15.0;
    rng_state = seed;
    signal(SIGALRM, on_alarm);
    devnull = fopen("/dev/null", "w");
    if (!devnull)
        return 2;

    char *texts[N_EXAMPLES];
    size_t lens[N_EXAMPLES];
    for (size_t i = 0; i < N_EXAMPLES; i++) {
        texts[i] = read_file(examples[i], &lens[i]);
        if (!texts[i]) {
            printf("not ok - cannot read %s (run from the repository root)\n", examples[i]);
            return 1;
        }
    }
    struct timespec t0, t;
    clock_gettime(CLOCK_MONOTONIC, &t0);
    run_fixed_cases();
    buf b = { 0 };
    char dir[] = "/tmp/dspcc-fuzz-XXXXXX";
    if (!mkdtemp(dir)) {
        printf("not ok - cannot make a temporary directory\n");
        return 1;
    }
    unsigned long long data_cases = 0;
    for (;;) {
        clock_gettime(CLOCK_MONOTONIC, &t);
        double elapsed = (double)(t.tv_sec - t0.tv_sec) + (double)(t.tv_nsec - t0.tv_nsec) / 1e9;
        if (elapsed > budget)
            break;
        case_no++;
        if (rnd_below(4) == 0) {
            data_cases++;
            run_data_case(dir, &b, texts, lens);
            continue;
        }
        size_t e = rnd_below(N_EXAMPLES);
        b.len = 0;
        buf_reserve(&b, lens[e]);
        memcpy(b.p, texts[e], lens[e]);
        b.len = lens[e];
        mutate(&b, texts, lens);
        run_case(examples[e], b.p, b.len);
    }
    free(b.p);
    char path[256];
    snprintf(path, sizeof path, "%s/d.jsonl", dir);
    unlink(path);
    snprintf(path, sizeof path, "%s/d.csv", dir);
    unlink(path);
    rmdir(dir);
    for (size_t i = 0; i < N_EXAMPLES; i++)
        free(texts[i]);
    fclose(devnull);
    printf("ok - %llu mutated inputs (%llu of them data files) and 13 fixed hostile inputs "
           "checked without a crash, hang or leak (seed %llu)\n", case_no, data_cases, seed);
    return 0;
}
