/* MAP_SHARED between processes, mremap, MADV_DONTNEED, waitid, RLIMIT_NPROC,
 * exec chains and process groups. */
#define _GNU_SOURCE
#include <errno.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/mman.h>
#include <sys/resource.h>
#include <sys/wait.h>
#include <unistd.h>

int main(int argc, char **argv) {
    if (argc > 1) {
        /* exec chain: /tests/memproc N execs itself with N-1 until 0. */
        int n = atoi(argv[1]);
        if (n == 0) return 33;
        char buf[16];
        snprintf(buf, sizeof buf, "%d", n - 1);
        execl("/proc/self/exe", argv[0], buf, (char *)0);
        execl(argv[0], argv[0], buf, (char *)0);
        return 99;
    }
    int *shared = mmap(0, 8192, PROT_READ | PROT_WRITE, MAP_SHARED | MAP_ANONYMOUS, -1, 0);
    int *priv = mmap(0, 4096, PROT_READ | PROT_WRITE, MAP_PRIVATE | MAP_ANONYMOUS, -1, 0);
    shared[0] = 1;
    priv[0] = 1;
    fflush(stdout);
    pid_t c = fork();
    if (c == 0) {
        shared[0] = 42;
        shared[1500] = 7;
        priv[0] = 42;
        _exit(0);
    }
    siginfo_t si;
    memset(&si, 0, sizeof si);
    int r = waitid(P_PID, c, &si, WEXITED);
    printf("waitid: %d pid ok=%d code=%d status=%d\n", r, si.si_pid == c, si.si_code, si.si_status);
    printf("MAP_SHARED sees the child's write: %d %d; MAP_PRIVATE keeps %d\n", shared[0], shared[1500], priv[0]);

    char *m = mmap(0, 4096, PROT_READ | PROT_WRITE, MAP_PRIVATE | MAP_ANONYMOUS, -1, 0);
    strcpy(m, "keep me");
    char *g = mremap(m, 4096, 4 * 4096 * 1024, MREMAP_MAYMOVE);
    printf("mremap grow: %s, contents '%s', new tail writable: ", g == MAP_FAILED ? "failed" : "ok", g);
    g[4 * 4096 * 1024 - 1] = 1;
    printf("yes\n");
    char *s = mremap(g, 4 * 4096 * 1024, 4096, 0);
    printf("mremap shrink in place: %s\n", s == g ? "yes" : "no");
    strcpy(s, "dirty");
    madvise(s, 4096, MADV_DONTNEED);
    printf("MADV_DONTNEED zeroes private memory: %s\n", s[0] == 0 ? "yes" : "no");

    errno = 0;
    r = waitid(P_ALL, 0, &si, WEXITED | WNOHANG);
    printf("waitid with no children: %s\n", r == -1 && errno == ECHILD ? "ECHILD" : "unexpected");

    c = fork();
    if (c == 0) {
        execl("/tests/memproc", "/tests/memproc", "3", (char *)0);
        _exit(98);
    }
    int st;
    waitpid(c, &st, 0);
    printf("exec chain of 4 images: status %d\n", WEXITSTATUS(st));

    /* Process groups. */
    c = fork();
    if (c == 0) {
        setpgid(0, 0);
        _exit(getpgrp() == getpid() ? 5 : 6);
    }
    waitpid(c, &st, 0);
    printf("child leads its own group: %s\n", WEXITSTATUS(st) == 5 ? "yes" : "no");

    /* A fork bomb stopped by RLIMIT_NPROC. */
    fflush(stdout);
    c = fork();
    if (c == 0) {
        setpgid(0, 0);
        struct rlimit rl = {20, 20};
        setrlimit(RLIMIT_NPROC, &rl);
        int made = 0, eagain = 0;
        for (int i = 0; i < 1000; i++) {
            pid_t k = fork();
            if (k == 0) { pause(); _exit(0); }
            if (k < 0) { eagain = errno == EAGAIN; break; }
            made++;
        }
        printf("fork bomb: stopped with EAGAIN=%d after fewer than 1000: %s\n", eagain, made < 1000 ? "yes" : "no");
        fflush(stdout);
        kill(0, SIGKILL);
        _exit(0);
    }
    waitpid(c, &st, 0);
    printf("still alive after the fork bomb: yes\n");
    return 0;
}
