/* fiber.c — fibers on ucontext stacks (fiber.h).
 *
 * A fiber starts on its stack through makecontext and setcontext, once;
 * every later switch, either way, is _setjmp and _longjmp, which leave the
 * signal mask alone: swapcontext saves and sets it with a system call per
 * switch (rt_sigprocmask), which at 4,096 requests in flight was 45,000
 * calls for 16,384 requests, about 3 a request. Nothing here changes the
 * mask, so there is nothing for a switch to restore. */
#include "fiber.h"

#include <setjmp.h>
#include <stdint.h>
#include <stdlib.h>
#include <sys/mman.h>
#include <ucontext.h>
#include <unistd.h>

#ifdef DSP_FIBER_ASAN
#include <sanitizer/asan_interface.h>
#include <sanitizer/common_interface_defs.h>
#endif
#ifdef DSP_FIBER_TSAN
#include <sanitizer/tsan_interface.h>
#endif
/* Valgrind takes a jump onto another stack for a huge frame on the thread's
 * own and reports every access there as invalid unless each fiber's stack
 * is registered: a no-op of a few instructions when not under valgrind.
 * DSP_HAVE_VALGRIND_H: the build defines it where valgrind's header is
 * installed (mk/common.mk; by hand for --embed-runtime), not
 * __has_include, which tools/dsp-cshape's parser cannot read. */
#ifdef DSP_HAVE_VALGRIND_H
#include <valgrind/valgrind.h>
#define DSP_FIBER_VALGRIND 1
#endif

/* The fiber itself lives at the top of its mapping, above its stack: the
 * page it shares with the stack's first frames is touched anyway, so a
 * fiber costs no heap block of its own. */
struct dsp_fiber {
    ucontext_t ctx;        /* where the fiber starts (makecontext); under ASan, the fiber's while it is away */
    jmp_buf away;          /* the fiber's, while it is away (not under ASan) */
    bool started;
    dsp_fiber_host *host;  /* the scheduler's, while the fiber runs */
    char *map;             /* guard page, then the stack, then this struct */
    size_t map_len;
    void *stack; /* its lowest address, above the guard page */
    size_t stack_len;
    dsp_fiber_fn fn;
    void *arg;
    bool done;
#ifdef DSP_FIBER_ASAN
    void *fake_stack;           /* ASan's fake frames of the fiber while it is away */
    const void *caller_bottom;  /* the scheduler's stack, for switching back */
    size_t caller_size;
#endif
#ifdef DSP_FIBER_TSAN
    void *tsan; /* TSan's state of this fiber (its shadow stack, its clock) */
#endif
#ifdef DSP_FIBER_VALGRIND
    unsigned vg_stack; /* valgrind's id of the stack */
#endif
};

#ifndef DSP_FIBER_UCONTEXT
/* _longjmp by its own symbol: _FORTIFY_SOURCE redirects the one <setjmp.h>
 * declares to __longjmp_chk, which stops the program at a jump to another
 * stack (an #undef here would not help where <setjmp.h> came earlier, as in
 * the single translation unit of `dspcc build --embed-runtime`). */
extern _Noreturn void dsp_fiber_longjmp(jmp_buf env, int val) __asm__("_longjmp");
#endif

static size_t page_size(void)
{
    long p = sysconf(_SC_PAGESIZE);
    return p > 0 ? (size_t)p : 4096;
}

#ifdef DSP_FIBER_UCONTEXT
/* Under ASan or TSan: saves the running context in save and continues in
 * to; returns when something later continues in save. getcontext and
 * setcontext, not swapcontext, which ASan intercepts to print a warning on
 * stderr that programs' output must not carry (the switches are announced
 * to it anyway), nor _longjmp, which both intercept (taking it for an
 * unwinding of the stack it leaves). Under TSan, tsan_to is TSan's fiber
 * of to, switched to here, between this function's entry and the jump: the
 * entry TSan records goes on the shadow stack of the side that returns
 * from it when continued, so every shadow stack stays balanced. */
static void switch_to(ucontext_t *save, const ucontext_t *to, void *tsan_to)
{
    volatile bool resumed = false;
    getcontext(save);
    if (!resumed) {
        resumed = true;
#ifdef DSP_FIBER_TSAN
        __tsan_switch_to_fiber(tsan_to, 0);
#else
        (void)tsan_to;
#endif
        setcontext(to);
    }
}
#endif

/* makecontext passes int arguments only: the pointer goes in two halves. */
static void entry(unsigned lo, unsigned hi)
{
    dsp_fiber *f = (dsp_fiber *)(((uintptr_t)hi << 16 << 16) | (uintptr_t)lo);
#ifdef DSP_FIBER_ASAN
    __sanitizer_finish_switch_fiber(NULL, &f->caller_bottom, &f->caller_size);
#endif
    f->fn(f->arg);
    f->done = true;
#ifdef DSP_FIBER_ASAN
    /* NULL: this stack is gone for good, its fake frames with it. */
    __sanitizer_start_switch_fiber(NULL, f->caller_bottom, f->caller_size);
#endif
#ifdef DSP_FIBER_TSAN
    __tsan_switch_to_fiber(f->host->tsan, 0);
#endif
#ifdef DSP_FIBER_UCONTEXT
    setcontext(&f->host->ctx);
#else
    dsp_fiber_longjmp(f->host->back, 1);
#endif
}

/* Sets f's context to start in entry on its stack. getcontext returns
 * twice in principle, hence a function of its own with f volatile (it
 * returns once here: nothing ever switches to this saved point). */
static int prepare(dsp_fiber *volatile f)
{
    if (getcontext(&f->ctx) != 0)
        return -1;
    f->ctx.uc_stack.ss_sp = f->stack;
    f->ctx.uc_stack.ss_size = f->stack_len;
    f->ctx.uc_link = NULL; /* entry never returns: it switches back itself */
    uintptr_t p = (uintptr_t)f;
    makecontext(&f->ctx, (void (*)(void))entry, 2, (unsigned)(p & 0xffffffffu), (unsigned)(p >> 16 >> 16));
    return 0;
}

dsp_fiber *dsp_fiber_new(dsp_fiber_fn fn, void *arg, dsp_fiber_host *host, size_t stack_bytes)
{
    size_t guard = page_size();
    if (stack_bytes < DSP_FIBER_STACK)
        stack_bytes = DSP_FIBER_STACK;
    size_t map_len = (stack_bytes + guard - 1) / guard * guard + guard;
    char *m = mmap(NULL, map_len, PROT_READ | PROT_WRITE, MAP_PRIVATE | MAP_ANONYMOUS | MAP_NORESERVE | MAP_STACK,
                   -1, 0);
    if (m == MAP_FAILED)
        return NULL;
    /* At the top, aligned for any member; the stack grows down from below it. */
    size_t at = (map_len - sizeof(dsp_fiber)) & ~(size_t)63;
    dsp_fiber *f = (dsp_fiber *)(void *)(m + at); /* fresh pages: zeroed */
    f->map = m;
    f->map_len = map_len;
    /* A fiber that overflows its stack faults here instead of writing into
     * whatever lies below. */
    (void)mprotect(f->map, guard, PROT_NONE);
    f->fn = fn;
    f->arg = arg;
    f->host = host;
    f->stack = f->map + guard;
    f->stack_len = (at - guard) & ~(size_t)15;
#ifdef DSP_FIBER_ASAN
    /* The mapping may reuse addresses whose shadow an earlier stack left
     * poisoned. */
    __asan_unpoison_memory_region(f->stack, f->stack_len);
#endif
#ifdef DSP_FIBER_TSAN
    f->tsan = __tsan_create_fiber(0);
#endif
#ifdef DSP_FIBER_VALGRIND
    f->vg_stack = VALGRIND_STACK_REGISTER(f->stack, (char *)f->stack + f->stack_len);
#endif
    if (prepare(f) != 0) {
        dsp_fiber_free(f);
        return NULL;
    }
    return f;
}

size_t dsp_fiber_resident(const dsp_fiber *f)
{
    size_t ps = page_size(), n = f->map_len / ps, resident = 0;
    unsigned char vec[256];
    for (size_t at = 0; at < n; at += sizeof vec) {
        size_t k = n - at < sizeof vec ? n - at : sizeof vec;
        if (mincore(f->map + at * ps, k * ps, vec) != 0)
            return 0;
        for (size_t i = 0; i < k; i++)
            resident += vec[i] & 1;
    }
    return resident * ps;
}

void dsp_fiber_free(dsp_fiber *f)
{
    if (!f)
        return;
#ifdef DSP_FIBER_TSAN
    __tsan_destroy_fiber(f->tsan);
#endif
#ifdef DSP_FIBER_VALGRIND
    VALGRIND_STACK_DEREGISTER(f->vg_stack);
#endif
    /* f lives in the mapping: read what unmapping needs first. */
    char *map = f->map;
    size_t len = f->map_len;
    munmap(map, len);
}

bool dsp_fiber_resume(dsp_fiber *f)
{
#ifdef DSP_FIBER_ASAN
    void *fake = NULL;
    __sanitizer_start_switch_fiber(&fake, f->stack, f->stack_len);
    switch_to(&f->host->ctx, &f->ctx, NULL);
    __sanitizer_finish_switch_fiber(fake, NULL, NULL);
#elif defined(DSP_FIBER_TSAN)
    f->host->tsan = __tsan_get_current_fiber();
    switch_to(&f->host->ctx, &f->ctx, f->tsan);
#else
    if (_setjmp(f->host->back) == 0) {
        if (f->started)
            dsp_fiber_longjmp(f->away, 1);
        f->started = true;
        setcontext(&f->ctx); /* the first switch: onto its stack, into entry */
    }
#endif
    return f->done;
}

void dsp_fiber_yield(dsp_fiber *f)
{
#ifdef DSP_FIBER_ASAN
    __sanitizer_start_switch_fiber(&f->fake_stack, f->caller_bottom, f->caller_size);
    switch_to(&f->ctx, &f->host->ctx, NULL);
    __sanitizer_finish_switch_fiber(f->fake_stack, &f->caller_bottom, &f->caller_size);
#elif defined(DSP_FIBER_TSAN)
    switch_to(&f->ctx, &f->host->ctx, f->host->tsan);
#else
    if (_setjmp(f->away) == 0)
        dsp_fiber_longjmp(f->host->back, 1);
#endif
}
