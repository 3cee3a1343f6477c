/* rt_sigtimedwait: waiting for SIGCHLD with a timeout, as libc-test's runner
 * does; and a timeout with nothing pending. */
#include <errno.h>
#include <signal.h>
#include <stdio.h>
#include <sys/wait.h>
#include <time.h>
#include <unistd.h>

int main(void) {
    sigset_t set;
    sigemptyset(&set);
    sigaddset(&set, SIGCHLD);
    sigprocmask(SIG_BLOCK, &set, 0);
    fflush(stdout);
    pid_t c = fork();
    if (c == 0) {
        struct timespec d = {0, 50 * 1000000};
        nanosleep(&d, 0);
        _exit(3);
    }
    struct timespec t = {5, 0};
    siginfo_t si;
    int s = sigtimedwait(&set, &si, &t);
    printf("sigtimedwait: %d pid ok=%d status=%d\n", s, si.si_pid == c, si.si_status);
    int st;
    waitpid(c, &st, 0);
    struct timespec short_t = {0, 20 * 1000000};
    errno = 0;
    s = sigtimedwait(&set, &si, &short_t);
    printf("nothing pending: %d %s\n", s, errno == EAGAIN ? "EAGAIN" : "?");
    raise(SIGCHLD);
    s = sigtimedwait(&set, &si, &short_t);
    printf("already pending: %d\n", s);
    return 0;
}
