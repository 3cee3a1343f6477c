/* CPU time: getrusage, times, clock() and the CPU-time clocks see work done,
 * for the process and for waited-for children; robust mutexes survive the
 * death of their owner. */
#define _GNU_SOURCE
#include <errno.h>
#include <pthread.h>
#include <stdio.h>
#include <sys/mman.h>
#include <sys/resource.h>
#include <sys/times.h>
#include <sys/wait.h>
#include <time.h>
#include <unistd.h>

static long elapsed_ms(clockid_t clk, const struct timespec *a) {
    struct timespec b;
    clock_gettime(clk, &b);
    return (b.tv_sec - a->tv_sec) * 1000 + (b.tv_nsec - a->tv_nsec) / 1000000;
}

/* Spins until this process has used `ms` of CPU (a loaded host may give it
 * less than the wall-clock time), or ten times that in wall-clock time. */
static void burn(int ms) {
    struct timespec cpu, wall;
    clock_gettime(CLOCK_PROCESS_CPUTIME_ID, &cpu);
    clock_gettime(CLOCK_MONOTONIC, &wall);
    do {
        for (volatile int i = 0; i < 10000; i++) ;
    } while (elapsed_ms(CLOCK_PROCESS_CPUTIME_ID, &cpu) < ms && elapsed_ms(CLOCK_MONOTONIC, &wall) < 10 * ms);
}

int main(void) {
    burn(200);
    struct rusage ru;
    getrusage(RUSAGE_SELF, &ru);
    long us = ru.ru_utime.tv_sec * 1000000 + ru.ru_utime.tv_usec + ru.ru_stime.tv_sec * 1000000 + ru.ru_stime.tv_usec;
    printf("getrusage sees >= 100 ms of CPU: %s; maxrss > 0: %s\n", us >= 100000 ? "yes" : "no", ru.ru_maxrss > 0 ? "yes" : "no");
    struct timespec cpu;
    clock_gettime(CLOCK_PROCESS_CPUTIME_ID, &cpu);
    printf("process CPU clock >= 100 ms: %s\n", cpu.tv_sec * 1000 + cpu.tv_nsec / 1000000 >= 100 ? "yes" : "no");
    printf("clock() >= 0.1 s: %s\n", clock() >= CLOCKS_PER_SEC / 10 ? "yes" : "no");
    fflush(stdout);
    pid_t c = fork();
    if (c == 0) {
        burn(200);
        _exit(0);
    }
    int st;
    struct rusage cru;
    wait4(c, &st, 0, &cru);
    struct tms t;
    times(&t);
    long cticks = t.tms_cutime + t.tms_cstime;
    printf("wait4 rusage and times() count the child: %s %s\n",
           cru.ru_utime.tv_sec * 1000000 + cru.ru_utime.tv_usec + cru.ru_stime.tv_usec >= 100000 ? "yes" : "no",
           cticks >= sysconf(_SC_CLK_TCK) / 10 ? "yes" : "no");

    /* A robust mutex in shared memory, held by a child that dies. */
    pthread_mutex_t *m = mmap(0, 4096, PROT_READ | PROT_WRITE, MAP_SHARED | MAP_ANONYMOUS, -1, 0);
    pthread_mutexattr_t a;
    pthread_mutexattr_init(&a);
    pthread_mutexattr_setpshared(&a, PTHREAD_PROCESS_SHARED);
    pthread_mutexattr_setrobust(&a, PTHREAD_MUTEX_ROBUST);
    pthread_mutex_init(m, &a);
    fflush(stdout);
    c = fork();
    if (c == 0) {
        pthread_mutex_lock(m);
        _exit(0);
    }
    waitpid(c, &st, 0);
    int r = pthread_mutex_lock(m);
    printf("robust mutex after its owner died: %s\n", r == EOWNERDEAD ? "EOWNERDEAD" : "unexpected");
    return 0;
}
