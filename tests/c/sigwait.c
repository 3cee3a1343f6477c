/* rt_sigtimedwait: waiting for SIGCHLD with a timeout, as libc-test's runner
 * does; and a timeout with nothing pending. ppoll and pselect with a temporary
 * signal mask. */
#define _GNU_SOURCE
#include <errno.h>
#include <poll.h>
#include <sys/select.h>
#include <signal.h>
#include <stdio.h>
#include <sys/wait.h>
#include <time.h>
#include <unistd.h>

static volatile int usr1;
static void on_usr1(int sig) { usr1 += sig == SIGUSR1; }

static int usr1_blocked(void) {
    sigset_t cur;
    sigprocmask(SIG_BLOCK, 0, &cur);
    return sigismember(&cur, SIGUSR1);
}

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
    /* ppoll and pselect6 wait under a temporary mask, then put the old one back. */
    signal(SIGUSR1, on_usr1);
    sigset_t u, none;
    sigemptyset(&u);
    sigaddset(&u, SIGUSR1);
    sigemptyset(&none);
    sigprocmask(SIG_BLOCK, &u, 0);
    raise(SIGUSR1);
    struct timespec one = {1, 0};
    errno = 0;
    s = ppoll(0, 0, &one, &none);
    printf("ppoll lets the blocked signal in: %d %s handler=%d, blocked again after: %d\n", s,
           errno == EINTR ? "EINTR" : "?", usr1, usr1_blocked());
    errno = 0;
    s = pselect(0, 0, 0, 0, &short_t, &u);
    printf("pselect timeout under a mask: %d, SIGUSR1 still blocked: %d\n", s, usr1_blocked());
    raise(SIGUSR1);
    int p[2];
    pipe(p);
    write(p[1], "x", 1);
    struct pollfd pf = {p[0], POLLIN, 0};
    s = ppoll(&pf, 1, &one, &none);
    sigset_t pend;
    sigpending(&pend);
    printf("ppoll with a ready fd: %d, signal still pending: %d, handler=%d\n", s, sigismember(&pend, SIGUSR1), usr1);
    sigprocmask(SIG_UNBLOCK, &u, 0);
    printf("unblocked: handler=%d\n", usr1);
    /* Real-time signals queue, each with its own value; standard ones merge. */
    sigset_t q;
    sigemptyset(&q);
    sigaddset(&q, SIGRTMIN + 1);
    sigaddset(&q, SIGUSR2);
    sigprocmask(SIG_BLOCK, &q, 0);
    for (int v = 1; v <= 3; v++)
        sigqueue(getpid(), SIGRTMIN + 1, (union sigval){.sival_int = v * 10});
    kill(getpid(), SIGUSR2);
    kill(getpid(), SIGUSR2);
    printf("queued:");
    while ((s = sigtimedwait(&q, &si, &short_t)) > 0)
        printf(" %s/%s/%d", s == SIGUSR2 ? "SIGUSR2" : s == SIGRTMIN + 1 ? "RTMIN+1" : "?",
               si.si_code == SI_QUEUE ? "SI_QUEUE" : si.si_code == SI_USER ? "SI_USER" : "?",
               si.si_code == SI_QUEUE ? si.si_value.sival_int : si.si_pid == getpid());
    printf(" then %s\n", errno == EAGAIN ? "EAGAIN" : "?");
    return 0;
}
