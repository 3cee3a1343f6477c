/* A syscall fuzzer: random syscalls with random and hostile arguments (bad
 * pointers, huge lengths, negative fds, kernel addresses) from child
 * processes, four at a time, each calling from two threads at once. The
 * LibOS must answer every call with a result, an errno or a signal, and keep
 * serving: the parent starts a new child whenever one ends or dies (a
 * hostile call may legitimately kill its caller) until the budget is spent.
 * Usage: fuzz [calls] [seed] */
#include <fcntl.h>
#include <pthread.h>
#include <signal.h>
#include <stdint.h>
#include <stdio.h>
#include <stdlib.h>
#include <sys/syscall.h>
#include <sys/wait.h>
#include <unistd.h>

static __thread uint64_t state;
static uint64_t rnd(void) {
    state ^= state << 13;
    state ^= state >> 7;
    state ^= state << 17;
    return state;
}

/* Calls that would end or replace the fuzzer itself, or wait forever. */
static int skip(long nr) {
    switch (nr) {
    case SYS_exit: case SYS_exit_group: case SYS_execve: case SYS_execveat:
    case SYS_rt_sigreturn: case SYS_vfork: case SYS_fork: case SYS_clone: case SYS_clone3:
    case SYS_kill: case SYS_tkill: case SYS_tgkill: case SYS_munmap: case SYS_mremap:
    case SYS_mprotect: case SYS_brk: case SYS_madvise: case SYS_arch_prctl:
    case SYS_reboot: case SYS_rt_sigaction: case SYS_rt_sigprocmask: case SYS_sigaltstack:
    case SYS_setrlimit: case SYS_prlimit64: case SYS_dup2: case SYS_dup3: case SYS_close:
    /* These could cancel the watchdog alarm or wait with SIGALRM blocked. */
    case SYS_alarm: case SYS_setitimer: case SYS_rt_sigsuspend: case SYS_rt_sigtimedwait:
        return 1;
    }
    return 0;
}

static char heap[65536];

static long arg(void) {
    switch (rnd() % 12) {
    case 0: return 0;
    case 1: return -1;
    case 2: return (long)(rnd() % 64);
    case 3: return (long)rnd();
    case 4: return (long)0xffff800000000000UL;
    case 5: return (long)(heap + rnd() % sizeof heap);
    case 6: return 0x1000;
    case 7: return (long)(rnd() % 4096);
    case 8: return -(long)(rnd() % 4096);
    case 9: return (long)(heap + sizeof heap - 1);
    case 10: return (long)0x7fffffffe000UL;
    default: return (long)(rnd() & 0xffffffff);
    }
}

static void fuzz(long calls) {
    for (long i = 0; i < calls; i++) {
        if (i % 256 == 0) alarm(2); /* a call that waits forever ends this child */
        long nr = (long)(rnd() % 460);
        if (rnd() % 8 == 0) nr = (long)rnd(); /* out of range numbers too */
        if (skip(nr)) continue;
        syscall(nr, arg(), arg(), arg(), arg(), arg(), arg());
    }
}

struct half {
    uint64_t seed;
    long calls;
};

static void *second_thread(void *arg) {
    struct half *h = arg;
    state = h->seed;
    fuzz(h->calls);
    return NULL;
}

/* One child: two threads, each with its own random stream. */
static void child(uint64_t seed, long calls) {
    /* The children's stray writes go nowhere: only the summary is output. */
    int null = open("/dev/null", O_RDWR);
    for (int fd = 0; fd < 3; fd++)
        dup2(null, fd);
    if (null > 2)
        close(null);
    struct half h = {seed ^ 0x5bd1e995, calls / 2};
    pthread_t t;
    int threaded = pthread_create(&t, NULL, second_thread, &h) == 0;
    state = seed;
    fuzz(calls - calls / 2);
    if (threaded)
        pthread_join(t, NULL);
    _exit(0);
}

int main(int argc, char **argv) {
    long total = argc > 1 ? atol(argv[1]) : 20000;
    uint64_t seed = argc > 2 ? strtoull(argv[2], 0, 0) : 1;
    long per_child = 2000, started = 0;
    int children = 0, running = 0, died = 0;
    while (started < total || running > 0) {
        if (started < total && running < 4) {
            fflush(stdout);
            pid_t c = fork();
            if (c == 0)
                child(seed * 0x9e3779b97f4a7c15ULL + (uint64_t)children + 1, per_child);
            if (c < 0) {
                printf("fork failed\n");
                return 1;
            }
            children++, running++;
            started += per_child;
            continue;
        }
        int st;
        if (waitpid(-1, &st, 0) < 0) {
            printf("wait failed\n");
            return 1;
        }
        running--;
        if (WIFSIGNALED(st)) died++;
    }
    printf("fuzz: %ld calls in %d children (%s), the LibOS still answers: pid %s\n", started, children,
           died ? "some died of signals" : "none died", getpid() > 0 ? "ok" : "?");
    return 0;
}
