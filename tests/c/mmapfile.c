/* Private file mappings: contents, offsets, the zeroed tail of the last page,
 * private writes, PROT_NONE then mprotect, fork, /dev/zero, and the error
 * cases. Run under Selkie and natively. */
#define _GNU_SOURCE
#include <errno.h>
#include <setjmp.h>
#include <signal.h>
#include <fcntl.h>
#include <stdio.h>
#include <string.h>
#include <sys/mman.h>
#include <sys/wait.h>
#include <unistd.h>

#define F "/tmp/mmap-test.dat"
#define SIZE 10000

static const char *err(void *p) {
    if (p != MAP_FAILED) return "ok";
    return errno == ENODEV ? "ENODEV" : errno == EACCES ? "EACCES" : errno == EINVAL ? "EINVAL" : errno == EBADF ? "EBADF" : "other";
}

static sigjmp_buf back;
static volatile int bus_code;
static void on_bus(int s, siginfo_t *si, void *uc) {
    (void)s, (void)uc;
    bus_code = si->si_code;
    siglongjmp(back, 1);
}

int main(void) {
    setvbuf(stdout, 0, _IONBF, 0);
    static unsigned char pattern[SIZE];
    for (int i = 0; i < SIZE; i++) pattern[i] = (unsigned char)(i * 7 + 3);
    int fd = open(F, O_RDWR | O_CREAT | O_TRUNC, 0644);
    write(fd, pattern, SIZE);
    close(fd);

    fd = open(F, O_RDONLY);
    unsigned char *m = mmap(0, SIZE, PROT_READ, MAP_PRIVATE, fd, 0);
    printf("map: %s, contents match: %s\n", err(m), memcmp(m, pattern, SIZE) == 0 ? "yes" : "no");
    int zero = 1;
    for (int i = SIZE; i < 12288; i++) zero &= m[i] == 0;
    printf("the rest of the last page is zeros: %s\n", zero ? "yes" : "no");
    unsigned char *big = mmap(0, 4 * 4096, PROT_READ, MAP_PRIVATE, fd, 0);
    struct sigaction sa = {.sa_sigaction = on_bus, .sa_flags = SA_SIGINFO};
    sigaction(SIGBUS, &sa, 0);
    if (sigsetjmp(back, 1) == 0) {
        (void)*(volatile unsigned char *)(big + 3 * 4096);
        printf("a page past the end of the file: readable\n");
    } else {
        printf("a page past the end of the file: SIGBUS, BUS_ADRERR: %s\n", bus_code == BUS_ADRERR ? "yes" : "no");
    }
    munmap(big, 4 * 4096);
    unsigned char *m2 = mmap(0, 4096, PROT_READ, MAP_PRIVATE, fd, 4096);
    printf("at offset 4096: %s\n", memcmp(m2, pattern + 4096, 4096) == 0 ? "yes" : "no");

    unsigned char *w = mmap(0, SIZE, PROT_READ | PROT_WRITE, MAP_PRIVATE, fd, 0);
    printf("writable private map of a read-only descriptor: %s\n", err(w));
    w[0] = 0xaa;
    unsigned char first;
    pread(fd, &first, 1, 0);
    printf("a private write stays private: %s\n", first == pattern[0] && w[0] == 0xaa ? "yes" : "no");

    unsigned char *n = mmap(0, 8192, PROT_NONE, MAP_PRIVATE, fd, 0);
    mprotect(n, 8192, PROT_READ);
    printf("PROT_NONE, then readable: %s\n", memcmp(n, pattern, 8192) == 0 ? "yes" : "no");

    pid_t c = fork();
    if (c == 0) _exit(memcmp(m, pattern, SIZE) == 0 && w[0] == 0xaa ? 0 : 1);
    int st;
    waitpid(c, &st, 0);
    printf("the child sees the same: %s\n", WEXITSTATUS(st) == 0 ? "yes" : "no");
    close(fd);
    printf("still mapped after close: %s\n", memcmp(m2, pattern + 4096, 4096) == 0 ? "yes" : "no");

    fd = open(F, O_WRONLY);
    printf("write-only descriptor: %s\n", err(mmap(0, 4096, PROT_READ, MAP_PRIVATE, fd, 0)));
    close(fd);
    fd = open(F, O_RDONLY);
    printf("unaligned offset: %s\n", err(mmap(0, 4096, PROT_READ, MAP_PRIVATE, fd, 100)));
    close(fd);
    printf("closed descriptor: %s\n", err(mmap(0, 4096, PROT_READ, MAP_PRIVATE, fd, 0)));
    int d = open("/tmp", O_RDONLY | O_DIRECTORY);
    printf("a directory: %s\n", err(mmap(0, 4096, PROT_READ, MAP_PRIVATE, d, 0)));
    close(d);
    int p[2];
    pipe(p);
    printf("a pipe: %s\n", err(mmap(0, 4096, PROT_READ, MAP_PRIVATE, p[0], 0)));
    int z = open("/dev/zero", O_RDWR);
    unsigned char *zm = mmap(0, 8192, PROT_READ | PROT_WRITE, MAP_PRIVATE, z, 0);
    int allzero = 1;
    for (int i = 0; i < 8192; i++) allzero &= zm[i] == 0;
    zm[100] = 1;
    printf("/dev/zero: %s, zeros: %s, writable: %s\n", err(zm), allzero ? "yes" : "no", zm[100] == 1 ? "yes" : "no");
    unlink(F);
    printf("mmapfile done\n");
    return 0;
}
