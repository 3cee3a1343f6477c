/* Signals reach threads that never make a syscall: a busy loop is
 * interrupted by a signal from another process, by its own interval timer
 * and by pthread_kill from another thread; the handler runs and the loop
 * goes on from where it was. */
#include <pthread.h>
#include <sched.h>
#include <signal.h>
#include <stdio.h>
#include <stdlib.h>
#include <sys/time.h>
#include <sys/wait.h>
#include <unistd.h>

static volatile sig_atomic_t got;
static volatile unsigned long spins;

static void on_signal(int sig) { got = sig; }

static void spin_until_signal(void) {
    while (!got)
        spins++;
}

/* raise() blocks signals, tkills its own thread and unblocks: each raised
 * signal must run its handler in the raising thread, while another thread
 * keeps signalling it (musl libc-test's raise-race). */
static volatile int raised_here, raised_elsewhere, kicked, kicks_sent;
static pthread_t raiser;
static __thread int is_raiser;

static void on_raised(int sig) {
    (void)sig;
    if (is_raiser)
        raised_here++;
    else
        raised_elsewhere++;
}

static void on_kick(int sig) {
    (void)sig;
    kicked++;
}

static void *raise_loop(void *arg) {
    (void)arg;
    is_raiser = 1;
    for (int i = 0; i < 1000; i++)
        if (raise(SIGRTMIN))
            perror("raise");
    /* Signals still pending when a thread exits are discarded: stay until
     * every kick is sent and, within a second, handled (the kicker may have
     * been preempted while this thread raised). */
    while (!kicks_sent)
        sched_yield();
    for (int i = 0; i < 100 && kicked < 100; i++)
        usleep(10000);
    return NULL;
}

static void *spinner(void *arg) {
    (void)arg;
    spin_until_signal();
    return NULL;
}

int main(void) {
    struct sigaction sa = {0};
    sa.sa_handler = on_signal;
    sigaction(SIGUSR1, &sa, NULL);
    sigaction(SIGALRM, &sa, NULL);
    sigaction(SIGUSR2, &sa, NULL);

    pid_t parent = getpid();
    pid_t child = fork();
    if (child == 0) {
        usleep(100000);
        kill(parent, SIGUSR1);
        _exit(0);
    }
    spin_until_signal();
    int st;
    waitpid(child, &st, 0);
    printf("busy loop interrupted by another process: %s\n", got == SIGUSR1 ? "SIGUSR1" : "?");

    got = 0;
    struct itimerval it = {{0, 0}, {0, 100000}};
    setitimer(ITIMER_REAL, &it, NULL);
    spin_until_signal();
    printf("busy loop interrupted by its timer: %s\n", got == SIGALRM ? "SIGALRM" : "?");

    got = 0;
    pthread_t t;
    pthread_create(&t, NULL, spinner, NULL);
    usleep(100000);
    pthread_kill(t, SIGUSR2);
    pthread_join(t, NULL);
    printf("spinning thread interrupted by pthread_kill: %s\n", got == SIGUSR2 ? "SIGUSR2" : "?");

    sa.sa_handler = on_raised;
    sigaction(SIGRTMIN, &sa, NULL);
    sa.sa_handler = on_kick;
    sigaction(SIGRTMIN + 1, &sa, NULL);
    pthread_create(&raiser, NULL, raise_loop, NULL);
    int failed = 0;
    for (int i = 0; i < 100; i++)
        if (pthread_kill(raiser, SIGRTMIN + 1))
            failed++;
    kicks_sent = 1;
    pthread_join(raiser, NULL);
    printf("raised 1000 times: %d handled in the raising thread, %d elsewhere; %d of 100 kills failed, %d handled\n",
           raised_here, raised_elsewhere, failed, kicked);

    /* A busy child is killed by SIGTERM and its parent sees the signal. */
    child = fork();
    if (child == 0) {
        for (;;)
            spins++;
    }
    usleep(50000);
    kill(child, SIGTERM);
    waitpid(child, &st, 0);
    printf("busy child killed by: %s\n", WIFSIGNALED(st) && WTERMSIG(st) == SIGTERM ? "SIGTERM" : "?");
    puts("asyncsig ok");
    return 0;
}
