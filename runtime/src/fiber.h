/* fiber.h — internal: fibers, functions that run on a stack of their own
 * and hand the thread back while they wait (ucontext). The event loop
 * (loop.c) runs each job of a batch as a fiber, so that a synchronous
 * chain of LM calls (a module, a react trajectory) waits for its replies
 * without holding a thread: thousands of them share one.
 *
 * A fiber is resumed only from the thread's own stack (the scheduler) and
 * yields only back to it. Under AddressSanitizer every switch is announced
 * (__sanitizer_start_switch_fiber), so ASan follows the stacks; under
 * ThreadSanitizer each fiber is a TSan fiber (__tsan_create_fiber) and
 * every switch says so (__tsan_switch_to_fiber), so TSan keeps one shadow
 * stack per fiber and orders a fiber's accesses after the switch that
 * started it. */
#ifndef DSP_FIBER_H
#define DSP_FIBER_H

#include <stdbool.h>
#include <stddef.h>
#include <setjmp.h>
#include <ucontext.h>

typedef struct dsp_fiber dsp_fiber;
typedef void (*dsp_fiber_fn)(void *arg);

/* Whether AddressSanitizer is on (gcc says so one way, clang another). */
#if defined(__SANITIZE_ADDRESS__)
#define DSP_FIBER_ASAN 1
#elif defined(__has_feature)
#if __has_feature(address_sanitizer)
#define DSP_FIBER_ASAN 1
#endif
#endif

/* Whether ThreadSanitizer is on. Its _longjmp interceptor unwinds the
 * shadow stack of the running fiber only, so under TSan the switches are
 * getcontext/setcontext, as under ASan (DSP_FIBER_UCONTEXT). */
#if defined(__SANITIZE_THREAD__)
#define DSP_FIBER_TSAN 1
#elif defined(__has_feature)
#if __has_feature(thread_sanitizer)
#define DSP_FIBER_TSAN 1
#endif
#endif

#if defined(DSP_FIBER_ASAN) || defined(DSP_FIBER_TSAN)
#define DSP_FIBER_UCONTEXT 1
#endif

/* The stack of each fiber: reserved, not committed (the pages a fiber
 * touches are what it costs), with a guard page below it. ASan's redzones
 * make frames several times larger. */
#ifdef DSP_FIBER_ASAN
#define DSP_FIBER_STACK (4u * 1024u * 1024u)
#else
#define DSP_FIBER_STACK (512u * 1024u)
#endif

/* The scheduler's side of its fibers: the context a fiber switches back
 * to when it yields. One per scheduler (not per fiber: a parked fiber
 * then costs its stack's touched pages and one saved context, which sits
 * at the top of its own stack). */
typedef struct dsp_fiber_host {
#ifdef DSP_FIBER_UCONTEXT
    ucontext_t ctx;
#else
    jmp_buf back;
#endif
#ifdef DSP_FIBER_TSAN
    void *tsan; /* TSan's fiber of the scheduler, set by each resume */
#endif
} dsp_fiber_host;

/* A fiber that will run fn(arg) when first resumed from host's thread,
 * on a stack of stack_bytes reserved (0: DSP_FIBER_STACK; never less
 * than that); NULL when its stack could not be mapped. host must outlive
 * it. */
dsp_fiber *dsp_fiber_new(dsp_fiber_fn fn, void *arg, dsp_fiber_host *host, size_t stack_bytes);
/* Bytes of f's mapping (its stack and the fiber itself) resident in
 * memory: the pages its deepest call touched, which stay resident while it
 * waits (mincore); 0 when the kernel does not say. */
size_t dsp_fiber_resident(const dsp_fiber *f);
/* Frees a fiber that finished or never started. */
void dsp_fiber_free(dsp_fiber *f);
/* From the scheduler: runs f until it yields or returns; true when f's
 * function returned (then only dsp_fiber_free is left to do). */
bool dsp_fiber_resume(dsp_fiber *f);
/* From inside f: back to the scheduler that resumed it. */
void dsp_fiber_yield(dsp_fiber *f);

#endif
