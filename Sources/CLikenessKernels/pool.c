/* A small spinning thread pool for the engine's parallel loops (see lk_pool_run in the header).
 *
 * Between the ops of a forward pass the workers spin for a fraction of a millisecond (yielding
 * the core now and then, so other runnable threads are not starved) before they sleep,
 * so handing out the next op costs a cache-line write instead of a thread wake-up (Dispatch's
 * concurrentPerform wakes its workers for every call, which at Toybox sizes cost more than the
 * second core gained). One job runs at a time; a caller that finds the pool busy (another
 * thread's job, or a nested call from inside a job) gets 0 back and runs its loop itself.
 *
 * Job state: `state` packs the job generation (high 32 bits) and the next unclaimed index (low
 * 32 bits), so a worker that arrives late can only claim an index of the job it saw start. The
 * fields of a job are written before its generation is published and change only after every
 * index has been claimed and finished. */
#define _GNU_SOURCE
#include "likeness_kernels.h"

#include <pthread.h>
#include <sched.h>
#include <stdatomic.h>
#include <stdint.h>
#include <sys/resource.h>
#include <sys/syscall.h>
#include <unistd.h>

#if defined(__x86_64__) || defined(__i386__)
#include <immintrin.h>
#define LK_PAUSE() _mm_pause()
#else
#define LK_PAUSE() ((void)0)
#endif

#define LK_POOL_MAX 64
#define LK_SPIN_ROUNDS 4000 /* about 0.2-0.5 ms, yielding every 32 rounds */

static pthread_mutex_t submit_lock = PTHREAD_MUTEX_INITIALIZER; /* one job at a time */
static pthread_mutex_t sleep_lock = PTHREAD_MUTEX_INITIALIZER;
static pthread_cond_t sleep_cond = PTHREAD_COND_INITIALIZER;
static int sleepers; /* under sleep_lock */
static int workers;  /* under submit_lock */

static _Atomic uint64_t state; /* generation << 32 | next index */
static _Atomic long done;
static _Atomic(lk_task_fn) job_fn;
static _Atomic(void *) job_ctx;
static _Atomic long job_n;

static _Atomic int worker_nice; /* nice value the workers take on at their next wake-up */

int lk_set_current_thread_nice(int nice) {
#if defined(__linux__)
    /* On Linux, PRIO_PROCESS with a thread id sets that thread's nice value only. */
    return setpriority(PRIO_PROCESS, (id_t)syscall(SYS_gettid), nice);
#else
    (void)nice;
    return -1;
#endif
}

void lk_pool_set_worker_nice(int nice) { atomic_store_explicit(&worker_nice, nice, memory_order_relaxed); }

static inline uint32_t gen_of(uint64_t s) { return (uint32_t)(s >> 32); }

/* Claims and runs indices of generation `gen` until none are left. */
static void work(uint32_t gen) {
    for (;;) {
        uint64_t s = atomic_load_explicit(&state, memory_order_acquire);
        if (gen_of(s) != gen) return;
        uint32_t i = (uint32_t)s;
        if ((long)i >= atomic_load_explicit(&job_n, memory_order_relaxed)) return;
        if (!atomic_compare_exchange_weak_explicit(&state, &s, s + 1, memory_order_acq_rel, memory_order_acquire))
            continue;
        /* Claimed index i of a job that cannot finish before it runs: its fields are stable. */
        lk_task_fn fn = atomic_load_explicit(&job_fn, memory_order_relaxed);
        fn(atomic_load_explicit(&job_ctx, memory_order_relaxed), (long)i);
        atomic_fetch_add_explicit(&done, 1, memory_order_acq_rel);
    }
}

static void *worker_main(void *arg) {
    (void)arg;
    uint32_t seen = gen_of(atomic_load_explicit(&state, memory_order_acquire));
    int applied_nice = 0;
    for (;;) {
        int want_nice = atomic_load_explicit(&worker_nice, memory_order_relaxed);
        if (want_nice != applied_nice && lk_set_current_thread_nice(want_nice) == 0) applied_nice = want_nice;
        uint32_t gen = seen;
        for (int spin = 0; spin < LK_SPIN_ROUNDS; spin++) {
            gen = gen_of(atomic_load_explicit(&state, memory_order_acquire));
            if (gen != seen) break;
            if (spin % 32 == 31) sched_yield(); /* lets other runnable threads have the core */
            else LK_PAUSE();
        }
        if (gen == seen) {
            pthread_mutex_lock(&sleep_lock);
            sleepers++;
            while ((gen = gen_of(atomic_load_explicit(&state, memory_order_acquire))) == seen)
                pthread_cond_wait(&sleep_cond, &sleep_lock);
            sleepers--;
            pthread_mutex_unlock(&sleep_lock);
        }
        seen = gen;
        work(gen);
    }
    return NULL;
}

int lk_pool_run(long iterations, int threads, lk_task_fn fn, void *ctx) {
    if (iterations <= 0) return 1;
    if (iterations >= (long)UINT32_MAX || threads < 2) return 0;
    if (pthread_mutex_trylock(&submit_lock) != 0) return 0;
    int want = threads - 1 < LK_POOL_MAX ? threads - 1 : LK_POOL_MAX;
    while (workers < want) {
        pthread_t t;
        pthread_attr_t attr;
        pthread_attr_init(&attr);
        pthread_attr_setdetachstate(&attr, PTHREAD_CREATE_DETACHED);
        pthread_attr_setstacksize(&attr, 8u << 20);
        int rc = pthread_create(&t, &attr, worker_main, NULL);
        pthread_attr_destroy(&attr);
        if (rc != 0) break;
        workers++;
    }
    if (workers == 0) {
        pthread_mutex_unlock(&submit_lock);
        return 0;
    }
    /* Publish a generation closed to claims (index UINT32_MAX) before touching the fields, so a
     * worker still looking at the previous job can no longer claim anything; the job itself
     * runs under the generation after it. */
    uint32_t closed = gen_of(atomic_load_explicit(&state, memory_order_relaxed)) + 1, gen = closed + 1;
    atomic_store_explicit(&state, ((uint64_t)closed << 32) | UINT32_MAX, memory_order_seq_cst);
    atomic_store_explicit(&job_fn, fn, memory_order_relaxed);
    atomic_store_explicit(&job_ctx, ctx, memory_order_relaxed);
    atomic_store_explicit(&job_n, iterations, memory_order_relaxed);
    atomic_store_explicit(&done, 0, memory_order_relaxed);
    atomic_store_explicit(&state, (uint64_t)gen << 32, memory_order_release);
    pthread_mutex_lock(&sleep_lock);
    if (sleepers) pthread_cond_broadcast(&sleep_cond);
    pthread_mutex_unlock(&sleep_lock);
    work(gen);
    /* Wait for indices still running on workers; yield the core now and then in case a worker
     * was preempted (more runnable threads than cores). */
    for (long spin = 0; atomic_load_explicit(&done, memory_order_acquire) < iterations; spin++) {
        if (spin % 32 == 31) sched_yield();
        else LK_PAUSE();
    }
    pthread_mutex_unlock(&submit_lock);
    return 1;
}

int lk_available_cpus(void) {
#if defined(__linux__) && defined(CPU_COUNT)
    cpu_set_t set;
    if (sched_getaffinity(0, sizeof set, &set) == 0) {
        int n = CPU_COUNT(&set);
        if (n > 0) return n;
    }
#endif
    return 0;
}
