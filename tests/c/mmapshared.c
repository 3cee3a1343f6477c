/* Shared file mappings and process-shared futexes: stores through a mapping
 * reach read(2) and other mappings (in another process too), write(2) and
 * ftruncate show in the mapping, SIGBUS past the end of the file, msync,
 * mremap, /proc/self/maps, the contents after munmap and close, process-shared
 * semaphores and mutexes on MAP_SHARED memory, and the error cases. Run
 * under Selkie and natively. */
#define _GNU_SOURCE
#include <errno.h>
#include <fcntl.h>
#include <pthread.h>
#include <semaphore.h>
#include <setjmp.h>
#include <signal.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/mman.h>
#include <sys/wait.h>
#include <unistd.h>

#define F "/tmp/mmap-shared.dat"
#define PAGE 4096

static const char *err(void *p) {
    if (p != MAP_FAILED) return "ok";
    return errno == ENODEV ? "ENODEV" : errno == EACCES ? "EACCES" : errno == EINVAL ? "EINVAL" : "other";
}

static sigjmp_buf back;
static volatile int bus_code;
static void *volatile bus_addr;
static void on_bus(int s, siginfo_t *si, void *uc) {
    (void)s, (void)uc;
    bus_code = si->si_code;
    bus_addr = si->si_addr;
    siglongjmp(back, 1);
}

/* Touches p: 0 if the read went through, else the signal's si_code. */
static int touch(volatile char *p) {
    bus_code = 0;
    if (sigsetjmp(back, 1) == 0) {
        (void)*p;
        return 0;
    }
    return bus_code;
}

struct shared {
    sem_t ready, done;
    pthread_mutex_t lock;
    long counter;
};

int main(void) {
    setvbuf(stdout, 0, _IONBF, 0);
    int fd = open(F, O_RDWR | O_CREAT | O_TRUNC, 0644);
    write(fd, "hello", 5);
    ftruncate(fd, 2 * PAGE);
    char *m = mmap(0, 3 * PAGE, PROT_READ | PROT_WRITE, MAP_SHARED, fd, 0);
    printf("map: %s, reads the file: %s\n", err(m), memcmp(m, "hello", 5) == 0 ? "yes" : "no");

    memcpy(m + 1, "EL", 2);
    char buf[8] = {0};
    pread(fd, buf, 5, 0);
    printf("a store through the mapping is read by read(2): %s\n", buf);
    pwrite(fd, "written", 7, PAGE + 10);
    printf("write(2) shows in the mapping: %.7s\n", m + PAGE + 10);
    lseek(fd, 100, SEEK_SET);
    write(fd, "at 100", 6);
    printf("so does a write at the file offset: %.6s\n", m + 100);

    char *second = mmap(0, PAGE, PROT_READ | PROT_WRITE, MAP_SHARED, fd, PAGE);
    m[PAGE + 200] = 'Q';
    printf("a second mapping of page 1 sees the store: %s\n", second[200] == 'Q' ? "yes" : "no");

    pid_t c = fork();
    if (c == 0) {
        int cfd = open(F, O_RDWR);
        char *cm = mmap(0, PAGE, PROT_READ | PROT_WRITE, MAP_SHARED, cfd, 0);
        memcpy(cm + 300, "from the child", 14);
        memcpy(m + 400, "inherited", 9);
        _exit(0);
    }
    waitpid(c, 0, 0);
    printf("the child's own mapping: %.14s; the inherited one: %.9s\n", m + 300, m + 400);

    struct sigaction sa = {.sa_sigaction = on_bus, .sa_flags = SA_SIGINFO};
    sigaction(SIGBUS, &sa, 0);
    int code = touch(m + 2 * PAGE + 8);
    printf("past the end of the file: %s, BUS_ADRERR: %s, si_addr right: %s\n", code ? "SIGBUS" : "no signal",
           code == BUS_ADRERR ? "yes" : "no", bus_addr == m + 2 * PAGE + 8 ? "yes" : "no");
    printf("the tail of the last page reads zeros: %s\n", touch(m + 2 * PAGE - 1) == 0 && m[2 * PAGE - 1] == 0 ? "yes" : "no");
    ftruncate(fd, 3 * PAGE);
    code = touch(m + 2 * PAGE + 8);
    printf("after the file grows: %s, zeros: %s\n", code ? "SIGBUS" : "readable", m[2 * PAGE + 8] == 0 ? "yes" : "no");
    m[2 * PAGE + 8] = 'Z';
    ftruncate(fd, 2 * PAGE + 4);
    printf("after truncating: the cut bytes read zeros: %s\n", m[2 * PAGE + 8] == 0 ? "yes" : "no");
    ftruncate(fd, 3 * PAGE);

    printf("msync: %d\n", msync(m, 3 * PAGE, MS_SYNC));
    errno = 0;
    int r = msync((char *)0x10000, PAGE, MS_SYNC);
    printf("msync of unmapped memory: %d %s\n", r, errno == ENOMEM ? "ENOMEM" : "other");
    printf("msync with MS_SYNC|MS_ASYNC: %s\n", msync(m, PAGE, MS_SYNC | MS_ASYNC) < 0 && errno == EINVAL ? "EINVAL" : "no");

    char *moved = mremap(second, PAGE, 2 * PAGE, MREMAP_MAYMOVE);
    printf("mremap keeps the file's pages: %s, and grows onto the next: %s\n",
           moved != MAP_FAILED && moved[200] == 'Q' ? "yes" : "no",
           moved != MAP_FAILED && moved[PAGE + 8] == 0 ? "yes" : "no");
    moved[PAGE + 9] = 'M';
    printf("a store through the moved mapping: %s\n", m[2 * PAGE + 9] == 'M' ? "yes" : "no");

    FILE *maps = fopen("/proc/self/maps", "r");
    char line[512];
    int listed = 0;
    while (fgets(line, sizeof line, maps))
        if (strstr(line, " rw-s 00000000 ") && strstr(line, F)) listed = 1;
    fclose(maps);
    printf("/proc/self/maps lists it: %s\n", listed ? "yes" : "no");

    munmap(m, 3 * PAGE);
    munmap(moved, 2 * PAGE);
    close(fd);
    fd = open(F, O_RDONLY);
    char back_in[16] = {0};
    pread(fd, back_in, 5, 0);
    char child_in[15] = {0};
    pread(fd, child_in, 14, 300);
    char m_in = 0;
    pread(fd, &m_in, 1, 2 * PAGE + 9);
    printf("after munmap and close the file holds: %s, %s, %c\n", back_in, child_in, m_in);

    printf("writable shared map of a read-only descriptor: %s\n",
           err(mmap(0, PAGE, PROT_READ | PROT_WRITE, MAP_SHARED, fd, 0)));
    char *ro = mmap(0, PAGE, PROT_READ, MAP_SHARED, fd, 0);
    printf("read-only shared map of it: %s\n", err(ro));
    int a = open(F, O_RDWR | O_APPEND);
    printf("writable shared map of an O_APPEND descriptor: %s\n",
           err(mmap(0, PAGE, PROT_READ | PROT_WRITE, MAP_SHARED, a, 0)));
    int p[2];
    pipe(p);
    printf("a pipe: %s\n", err(mmap(0, PAGE, PROT_READ, MAP_SHARED, p[0], 0)));

    /* Process-shared synchronisation in anonymous shared memory. */
    struct shared *s = mmap(0, sizeof *s, PROT_READ | PROT_WRITE, MAP_SHARED | MAP_ANONYMOUS, -1, 0);
    sem_init(&s->ready, 1, 0);
    sem_init(&s->done, 1, 0);
    pthread_mutexattr_t ma;
    pthread_mutexattr_init(&ma);
    pthread_mutexattr_setpshared(&ma, PTHREAD_PROCESS_SHARED);
    pthread_mutex_init(&s->lock, &ma);
    enum { N = 20000 };
    pid_t kids[2];
    for (int k = 0; k < 2; k++) {
        kids[k] = fork();
        if (kids[k] == 0) {
            sem_wait(&s->ready);
            for (int i = 0; i < N; i++) {
                pthread_mutex_lock(&s->lock);
                s->counter++;
                pthread_mutex_unlock(&s->lock);
            }
            sem_post(&s->done);
            _exit(0);
        }
    }
    usleep(20000);
    sem_post(&s->ready);
    sem_post(&s->ready);
    for (int i = 0; i < N; i++) {
        pthread_mutex_lock(&s->lock);
        s->counter++;
        pthread_mutex_unlock(&s->lock);
    }
    sem_wait(&s->done);
    sem_wait(&s->done);
    for (int k = 0; k < 2; k++) waitpid(kids[k], 0, 0);
    printf("three processes under one process-shared mutex: %ld\n", s->counter);
    unlink(F);
    printf("mmapshared done\n");
    return 0;
}
