/* Stop and continue (WUNTRACED, WCONTINUED, SIGCHLD codes), and fork from a
 * process with threads. */
#include <pthread.h>
#include <signal.h>
#include <stdio.h>
#include <string.h>
#include <sys/wait.h>
#include <time.h>
#include <unistd.h>

static volatile int chld_codes[4], nchld;

static void on_chld(int s, siginfo_t *si, void *uc) {
    (void)s; (void)uc;
    if (nchld < 4) chld_codes[nchld++] = si->si_code;
}

static void *spin(void *arg) {
    (void)arg;
    for (;;) {
        struct timespec d = {0, 10000000};
        nanosleep(&d, 0);
    }
    return 0;
}

/* Waits (up to a second) until `n` SIGCHLDs were handled, so that the next one
 * is not merged with a still-pending one (SIGCHLD does not queue). */
static void settle(int n) {
    for (int i = 0; i < 200 && nchld < n; i++) usleep(5000);
}

int main(void) {
    struct sigaction sa;
    memset(&sa, 0, sizeof sa);
    sa.sa_sigaction = on_chld;
    sa.sa_flags = SA_SIGINFO | SA_RESTART;
    sigaction(SIGCHLD, &sa, 0);

    fflush(stdout);
    pid_t c = fork();
    if (c == 0) {
        raise(SIGSTOP);
        for (;;) pause();
    }
    int st;
    pid_t w = waitpid(c, &st, WUNTRACED);
    printf("stopped: %d sig=%d\n", w == c && WIFSTOPPED(st), WSTOPSIG(st));
    settle(1);
    kill(c, SIGCONT);
    w = waitpid(c, &st, WCONTINUED);
    printf("continued: %d\n", w == c && WIFCONTINUED(st));
    settle(2);
    kill(c, SIGTERM);
    w = waitpid(c, &st, 0);
    printf("then killed: %d sig=%d\n", WIFSIGNALED(st), WTERMSIG(st));
    settle(3);
    printf("SIGCHLD codes: %d %d %d (stopped, continued, killed)\n", chld_codes[0], chld_codes[1], chld_codes[2]);

    /* A process with two threads forks: the child has one thread. */
    pthread_t t;
    pthread_create(&t, 0, spin, 0);
    fflush(stdout);
    c = fork();
    if (c == 0) {
        _exit(21);
    }
    waitpid(c, &st, 0);
    printf("fork with a second thread running: child status %d\n", WEXITSTATUS(st));
    return 0;
}
