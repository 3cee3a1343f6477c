/* Resource exhaustion: descriptors (EMFILE at RLIMIT_NOFILE), huge argv and
 * environments (E2BIG), a thousand live threads, and the process goes on
 * after each. Run under Selkie and natively. */
#define _GNU_SOURCE
#include <errno.h>
#include <fcntl.h>
#include <pthread.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/resource.h>
#include <sys/wait.h>
#include <unistd.h>

enum { THREADS = 1000 };
static pthread_mutex_t lock = PTHREAD_MUTEX_INITIALIZER;
static pthread_cond_t go = PTHREAD_COND_INITIALIZER;
static int started, released;

static void *worker(void *arg) {
    pthread_mutex_lock(&lock);
    started++;
    pthread_cond_broadcast(&go);
    while (!released) pthread_cond_wait(&go, &lock);
    pthread_mutex_unlock(&lock);
    return arg;
}

int main(void) {
    setvbuf(stdout, 0, _IONBF, 0);
    struct rlimit rl = {256, 256};
    setrlimit(RLIMIT_NOFILE, &rl);
    int n = 0, fd, last = -1;
    while ((fd = open("/dev/null", O_RDONLY)) >= 0) {
        n++;
        last = fd;
    }
    printf("opened %d descriptors, the last %d, then: %s\n", n, last, errno == EMFILE ? "EMFILE" : strerror(errno));
    int p[2];
    printf("pipe with no descriptor left: %s\n", pipe(p) < 0 && errno == EMFILE ? "EMFILE" : "?");
    printf("dup: %s\n", dup(0) < 0 && errno == EMFILE ? "EMFILE" : "?");
    for (int i = 3; i <= last; i++) close(i);
    printf("after closing them, open: %d\n", open("/dev/null", O_RDONLY));

    /* execve with too much: E2BIG, and the caller goes on. */
    static char big[200 * 1024];
    memset(big, 'x', sizeof big - 1);
    char *argv1[] = {"/tests/hello", big, 0};
    execv("/tests/hello", argv1);
    printf("one 200 KiB argument: %s\n", errno == E2BIG ? "E2BIG" : strerror(errno));
    static char chunk[64 * 1024];
    memset(chunk, 'y', sizeof chunk - 1);
    char *argv2[64];
    argv2[0] = "/tests/hello";
    for (int i = 1; i < 63; i++) argv2[i] = chunk;
    argv2[63] = 0;
    execv("/tests/hello", argv2);
    printf("62 arguments of 64 KiB: %s\n", errno == E2BIG ? "E2BIG" : strerror(errno));
    char *envp[64];
    for (int i = 0; i < 63; i++) envp[i] = chunk;
    envp[63] = 0;
    char *argv3[] = {"/tests/hello", 0};
    execve("/tests/hello", argv3, envp);
    printf("an environment of 4 MiB: %s\n", errno == E2BIG ? "E2BIG" : strerror(errno));

    /* A thousand threads alive at once. */
    pthread_attr_t a;
    pthread_attr_init(&a);
    pthread_attr_setstacksize(&a, 64 * 1024);
    static pthread_t t[THREADS];
    int made = 0;
    for (; made < THREADS; made++)
        if (pthread_create(&t[made], &a, worker, (void *)(long)made)) break;
    pthread_mutex_lock(&lock);
    while (started < made) pthread_cond_wait(&go, &lock);
    printf("threads alive at once: %d\n", started);
    released = 1;
    pthread_cond_broadcast(&go);
    pthread_mutex_unlock(&lock);
    long sum = 0;
    for (int i = 0; i < made; i++) {
        void *r;
        pthread_join(t[i], &r);
        sum += (long)r;
    }
    printf("all joined, sum %ld\n", sum);
    pid_t c = fork();
    if (c == 0) _exit(execl("/tests/hello", "/tests/hello", (char *)0));
    int st;
    waitpid(c, &st, 0);
    printf("a program still runs afterwards: exit %d\n", WEXITSTATUS(st));
    printf("exhaust done\n");
    return 0;
}
