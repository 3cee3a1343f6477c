/* fork with copy-on-write, execve, vfork, wait4 statuses, nanosleep. */
#include <errno.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/wait.h>
#include <time.h>
#include <unistd.h>

static int shared_value = 1;
static char big[3 * 4096] = "parent data";

static long ms_since(struct timespec *a) {
    struct timespec b;
    clock_gettime(CLOCK_MONOTONIC, &b);
    return (b.tv_sec - a->tv_sec) * 1000 + (b.tv_nsec - a->tv_nsec) / 1000000;
}

int main(void) {
    int st;
    fflush(stdout);
    pid_t c = fork();
    if (c == 0) {
        shared_value = 42;
        strcpy(big, "child data");
        _exit(7);
    }
    pid_t w = waitpid(c, &st, 0);
    printf("fork: waited right child: %s, exited=%d status=%d\n", w == c ? "yes" : "no", WIFEXITED(st), WEXITSTATUS(st));
    printf("copy-on-write: parent still sees %d and '%s'\n", shared_value, big);

    c = fork();
    if (c == 0) {
        char *argv[] = {"/tests/exitcode", "5", 0};
        execv(argv[0], argv);
        _exit(99);
    }
    waitpid(c, &st, 0);
    printf("fork+exec: status %d\n", WEXITSTATUS(st));

    c = vfork();
    if (c == 0) {
        char *argv[] = {"/tests/exitcode", "6", 0};
        execv(argv[0], argv);
        _exit(98);
    }
    waitpid(c, &st, 0);
    printf("vfork+exec: status %d\n", WEXITSTATUS(st));

    errno = 0;
    execl("/no/such/file", "x", (char *)0);
    printf("exec missing: %s\n", errno == ENOENT ? "ENOENT" : strerror(errno));
    errno = 0;
    execl("/etc/passwd", "x", (char *)0);
    printf("exec non-ELF: %s\n", errno == ENOEXEC || errno == EACCES ? "refused" : strerror(errno));

    struct timespec t0;
    clock_gettime(CLOCK_MONOTONIC, &t0);
    c = fork();
    if (c == 0) {
        struct timespec d = {0, 100 * 1000000};
        nanosleep(&d, 0);
        _exit(3);
    }
    w = waitpid(c, &st, WNOHANG);
    printf("WNOHANG while the child sleeps: %d\n", (int)w);
    w = waitpid(-1, &st, 0);
    long ms = ms_since(&t0);
    printf("child slept: status %d, waited >= 100 ms: %s, < 2 s: %s\n", WEXITSTATUS(st), ms >= 100 ? "yes" : "no", ms < 2000 ? "yes" : "no");

    c = fork();
    if (c == 0) {
        volatile int *p = 0;
        *p = 1;
        _exit(0);
    }
    waitpid(c, &st, 0);
    printf("crashing child: signaled=%d signal=%d\n", WIFSIGNALED(st), WTERMSIG(st));

    errno = 0;
    w = waitpid(-1, &st, 0);
    printf("no children left: %s\n", w == -1 && errno == ECHILD ? "ECHILD" : "unexpected");

    int n = 0;
    for (int i = 0; i < 20; i++) {
        pid_t k = fork();
        if (k == 0) _exit(i);
        if (k > 0) n++;
    }
    int sum = 0;
    while (n-- > 0) {
        if (wait(&st) > 0) sum += WEXITSTATUS(st);
    }
    printf("20 children reaped, status sum %d\n", sum);
    return 0;
}
