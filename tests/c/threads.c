/* pthreads: 8 threads x 100000 mutex-protected increments, a condition
 * variable, a barrier, thread-local storage, join, pthread_kill and a
 * timed wait. */
#include <errno.h>
#include <pthread.h>
#include <signal.h>
#include <stdio.h>
#include <string.h>
#include <time.h>
#include <sys/syscall.h>
#include <unistd.h>

#define THREADS 8
#define ROUNDS 100000

static pthread_mutex_t lock = PTHREAD_MUTEX_INITIALIZER;
static pthread_cond_t cond = PTHREAD_COND_INITIALIZER;
static pthread_barrier_t barrier;
static long counter;
static int ready;
static __thread int mine = -1;
static int tls_ok[THREADS];
static volatile sig_atomic_t usr1_thread;

static void *worker(void *arg) {
    int id = (int)(long)arg;
    mine = id;
    pthread_barrier_wait(&barrier);
    for (int i = 0; i < ROUNDS; i++) {
        pthread_mutex_lock(&lock);
        counter++;
        pthread_mutex_unlock(&lock);
    }
    tls_ok[id] = (mine == id);
    return (void *)(long)(id * 10);
}

static void *waiter(void *arg) {
    (void)arg;
    pthread_mutex_lock(&lock);
    while (!ready) pthread_cond_wait(&cond, &lock);
    pthread_mutex_unlock(&lock);
    return (void *)7;
}

static void on_usr1(int s) { (void)s; usr1_thread = 1; }

static void *sleeper(void *arg) {
    (void)arg;
    struct timespec d = {2, 0};
    int r = nanosleep(&d, 0);
    return (void *)(long)(r == -1 && errno == EINTR && usr1_thread);
}

int main(void) {
    pthread_t t[THREADS];
    pthread_barrier_init(&barrier, 0, THREADS);
    for (long i = 0; i < THREADS; i++) pthread_create(&t[i], 0, worker, (void *)i);
    long sum = 0;
    for (int i = 0; i < THREADS; i++) {
        void *r;
        pthread_join(t[i], &r);
        sum += (long)r;
    }
    int all_tls = 1;
    for (int i = 0; i < THREADS; i++) all_tls &= tls_ok[i];
    printf("counter=%ld (expected %d), join values sum=%ld, tls per thread ok=%d, main tls=%d\n", counter,
           THREADS * ROUNDS, sum, all_tls, mine);

    pthread_t w;
    pthread_create(&w, 0, waiter, 0);
    usleep(20000);
    pthread_mutex_lock(&lock);
    ready = 1;
    pthread_cond_signal(&cond);
    pthread_mutex_unlock(&lock);
    void *r;
    pthread_join(w, &r);
    printf("condvar: waiter returned %ld\n", (long)r);

    struct timespec ts;
    clock_gettime(CLOCK_REALTIME, &ts);
    ts.tv_nsec += 50 * 1000000;
    if (ts.tv_nsec >= 1000000000) { ts.tv_sec++; ts.tv_nsec -= 1000000000; }
    pthread_mutex_lock(&lock);
    int e = pthread_cond_timedwait(&cond, &lock, &ts);
    pthread_mutex_unlock(&lock);
    printf("timed wait: %s\n", e == ETIMEDOUT ? "ETIMEDOUT" : strerror(e));

    signal(SIGUSR1, on_usr1);
    pthread_t s;
    pthread_create(&s, 0, sleeper, 0);
    usleep(50000);
    pthread_kill(s, SIGUSR1);
    pthread_join(s, &r);
    printf("pthread_kill interrupted the sleeping thread: %s\n", (long)r ? "yes" : "no");
    printf("pid == tid in main: %s\n", getpid() == (pid_t)syscall(186) ? "yes" : "no");
    return 0;
}
