/* Signal handlers, masks, SIGCHLD, sigsuspend, alarm, EINTR, kill of a child. */
#include <errno.h>
#include <signal.h>
#include <stdio.h>
#include <string.h>
#include <sys/wait.h>
#include <time.h>
#include <unistd.h>

static volatile sig_atomic_t got_usr1, got_chld, got_alrm, chld_pid_ok;
static pid_t expected_child;

static void on_usr1(int s) { got_usr1 = s; }
static void on_alrm(int s) { (void)s; got_alrm++; }
static void on_chld(int s, siginfo_t *si, void *uc) {
    (void)s; (void)uc;
    got_chld++;
    chld_pid_ok = si->si_pid == expected_child && si->si_code == CLD_EXITED && si->si_status == 4;
}

int main(void) {
    struct sigaction sa;
    memset(&sa, 0, sizeof sa);
    sa.sa_handler = on_usr1;
    sigaction(SIGUSR1, &sa, 0);
    kill(getpid(), SIGUSR1);
    printf("handler ran for signal %d\n", (int)got_usr1);

    /* A blocked signal stays pending until unblocked. */
    sigset_t set, old;
    sigemptyset(&set);
    sigaddset(&set, SIGUSR1);
    got_usr1 = 0;
    sigprocmask(SIG_BLOCK, &set, &old);
    raise(SIGUSR1);
    sigset_t pend;
    sigpending(&pend);
    printf("blocked: ran=%d pending=%d\n", (int)got_usr1, sigismember(&pend, SIGUSR1));
    sigprocmask(SIG_SETMASK, &old, 0);
    printf("unblocked: ran=%d\n", got_usr1 == SIGUSR1);

    /* SIGCHLD with siginfo, waited for with sigsuspend. */
    memset(&sa, 0, sizeof sa);
    sa.sa_sigaction = on_chld;
    sa.sa_flags = SA_SIGINFO;
    sigaction(SIGCHLD, &sa, 0);
    sigemptyset(&set);
    sigaddset(&set, SIGCHLD);
    sigprocmask(SIG_BLOCK, &set, &old);
    fflush(stdout);
    expected_child = fork();
    if (expected_child == 0) _exit(4);
    sigset_t none;
    sigemptyset(&none);
    while (!got_chld) sigsuspend(&none);
    sigprocmask(SIG_SETMASK, &old, 0);
    int st;
    waitpid(expected_child, &st, 0);
    printf("SIGCHLD: count=%d info ok=%d status=%d\n", (int)got_chld, (int)chld_pid_ok, WEXITSTATUS(st));

    /* alarm interrupts pause with EINTR. */
    memset(&sa, 0, sizeof sa);
    sa.sa_handler = on_alrm;
    sigaction(SIGALRM, &sa, 0);
    alarm(1);
    int r = pause();
    printf("pause: %d %s, alarms=%d\n", r, errno == EINTR ? "EINTR" : "?", (int)got_alrm);

    /* nanosleep is interrupted too and reports the time left. */
    struct itimerval it = {{0, 0}, {0, 200000}};
    setitimer(ITIMER_REAL, &it, 0);
    struct timespec req = {5, 0}, rem = {0, 0};
    r = nanosleep(&req, &rem);
    printf("nanosleep: %d %s, time left > 4 s: %s\n", r, errno == EINTR ? "EINTR" : "?", rem.tv_sec >= 4 ? "yes" : "no");

    /* A child killed by SIGTERM while it pauses. */
    fflush(stdout);
    pid_t c = fork();
    if (c == 0) {
        for (;;) pause();
    }
    struct timespec d = {0, 50 * 1000000};
    nanosleep(&d, 0);
    kill(c, SIGTERM);
    waitpid(c, &st, 0);
    printf("child killed: signaled=%d sig=%d\n", WIFSIGNALED(st), WTERMSIG(st));

    /* sigaltstack is recorded. */
    static char alt[16384];
    stack_t ss = {.ss_sp = alt, .ss_size = sizeof alt, .ss_flags = 0}, cur;
    sigaltstack(&ss, 0);
    sigaltstack(0, &cur);
    printf("sigaltstack: size ok=%d\n", cur.ss_size == sizeof alt);

    /* SIG_IGN discards; default SIGUSR2 terminates (checked last: we die). */
    signal(SIGUSR1, SIG_IGN);
    raise(SIGUSR1);
    printf("ignored signal: still alive\n");
    fflush(stdout);
    raise(SIGUSR2);
    printf("not reached\n");
    return 0;
}
