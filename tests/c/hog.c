/* Hostile resource use, each in a child the parent outlives: a memory hog
 * (mmap and touch until the pool runs out: ENOMEM, or the hog is killed);
 * a hog that stops just short of the end while a small process allocates
 * (the out-of-memory killer must pick the hog, not the small one); unbounded
 * recursion (SIGSEGV at the stack's guard); then proof that the system
 * still works: a fresh child allocates, fills and checks 16 MiB.
 * Not run natively: on the host the hog would meet the host's OOM killer.
 * Usage: hog */
#include <errno.h>
#include <fcntl.h>
#include <signal.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/mman.h>
#include <sys/wait.h>
#include <unistd.h>

#define CHUNK (1L << 20)

static void hog(int fd) {
    long mib = 0;
    for (;;) {
        char *p = mmap(NULL, CHUNK, PROT_READ | PROT_WRITE, MAP_PRIVATE | MAP_ANONYMOUS, -1, 0);
        if (p == MAP_FAILED) {
            /* Report how far it got through the pipe (stdout may need memory). */
            long r[2] = {mib, errno};
            write(fd, r, sizeof r);
            _exit(0);
        }
        for (long i = 0; i < CHUNK; i += 4096)
            p[i] = 1;
        mib++;
        long r[2] = {mib, 0};
        write(fd, r, sizeof r);
    }
}

/* MemFree of /proc/meminfo, in KiB. */
static long mem_free(void) {
    char b[512];
    int fd = open("/proc/meminfo", O_RDONLY);
    ssize_t n = fd < 0 ? -1 : read(fd, b, sizeof b - 1);
    if (fd >= 0)
        close(fd);
    if (n <= 0)
        return -1;
    b[n] = 0;
    char *f = strstr(b, "MemFree:");
    return f ? atol(f + 8) : -1;
}

/* Takes memory until less than 4 MiB is free, says so, and waits. */
static void near_hog(int fd) {
    while (mem_free() > 4096) {
        char *p = mmap(NULL, CHUNK, PROT_READ | PROT_WRITE, MAP_PRIVATE | MAP_ANONYMOUS, -1, 0);
        if (p == MAP_FAILED)
            break;
        for (long i = 0; i < CHUNK; i += 4096)
            p[i] = 1;
    }
    write(fd, "x", 1);
    for (;;)
        pause();
}

#pragma GCC diagnostic ignored "-Winfinite-recursion"
static volatile long depth;
static long recurse(long n) {
    volatile char pad[512];
    pad[0] = (char)n;
    depth = n;
    return recurse(n + 1) + pad[0];
}

static const char *how(int st) {
    static char b[64];
    if (WIFEXITED(st))
        snprintf(b, sizeof b, "exited %d", WEXITSTATUS(st));
    else if (WIFSIGNALED(st))
        snprintf(b, sizeof b, "killed by %s", strsignal(WTERMSIG(st)));
    else
        snprintf(b, sizeof b, "status %#x", st);
    return b;
}

int main(void) {
    int p[2];
    if (pipe(p))
        return 1;
    pid_t c = fork();
    if (c == 0) {
        close(p[0]);
        hog(p[1]);
    }
    close(p[1]);
    long r[2], last[2] = {0, 0};
    while (read(p[0], r, sizeof r) == sizeof r)
        memcpy(last, r, sizeof r);
    int st;
    waitpid(c, &st, 0);
    printf("memory hog: %s after %s MiB, %s\n", how(st), last[0] >= 64 ? ">= 64" : "< 64",
           last[1] == ENOMEM ? "mmap said ENOMEM" : last[1] ? "mmap failed otherwise" : "killed while touching");

    /* The small process needs 8 MiB while the hog holds all but 4 MiB. */
    if (pipe(p))
        return 1;
    c = fork();
    if (c == 0) {
        close(p[0]);
        near_hog(p[1]);
    }
    close(p[1]);
    char x;
    read(p[0], &x, 1);
    close(p[0]);
    size_t n = 8L << 20;
    char *m = mmap(NULL, n, PROT_READ | PROT_WRITE, MAP_PRIVATE | MAP_ANONYMOUS, -1, 0);
    int ok = m != MAP_FAILED;
    for (size_t i = 0; ok && i < n; i += 4096)
        m[i] = 1;
    printf("a small process allocates 8 MiB next to the hog: %s\n", ok ? "yes" : "no");
    waitpid(c, &st, 0);
    printf("the hog beside it: %s\n", how(st));

    c = fork();
    if (c == 0) {
        recurse(0);
        _exit(0);
    }
    if (c < 0 || waitpid(c, &st, 0) != c)
        printf("unbounded recursion: fork or wait failed: %s\n", strerror(errno));
    else
        printf("unbounded recursion: %s\n", how(st));

    c = fork();
    if (c == 0) {
        size_t n = 16L << 20;
        unsigned char *m = malloc(n);
        if (!m)
            _exit(2);
        for (size_t i = 0; i < n; i++)
            m[i] = (unsigned char)(i * 7);
        for (size_t i = 0; i < n; i++)
            if (m[i] != (unsigned char)(i * 7))
                _exit(3);
        _exit(0);
    }
    if (c < 0 || waitpid(c, &st, 0) != c)
        printf("a new process afterwards: fork or wait failed: %s\n", strerror(errno));
    else
        printf("a new process afterwards: %s\n", how(st));
    return 0;
}
