/* FIFOs (mkfifo, mknod): blocking and non-blocking opens of each end, data
 * through them, EOF, signals during a waiting open. Run under Selkie and
 * natively; the outputs must match. */
#define _GNU_SOURCE
#include <errno.h>
#include <fcntl.h>
#include <poll.h>
#include <signal.h>
#include <stdio.h>
#include <string.h>
#include <sys/stat.h>
#include <sys/sysmacros.h>
#include <sys/wait.h>
#include <time.h>
#include <unistd.h>

#define F "/tmp/fifo-test"

static const char *err(long r) {
    if (r >= 0) return "ok";
    switch (errno) {
    case EEXIST: return "EEXIST";
    case ENXIO: return "ENXIO";
    case EINTR: return "EINTR";
    case EPERM: return "EPERM";
    case EINVAL: return "EINVAL";
    case EAGAIN: return "EAGAIN";
    default: return "other";
    }
}

static long ms_since(struct timespec *t0) {
    struct timespec t;
    clock_gettime(CLOCK_MONOTONIC, &t);
    return (t.tv_sec - t0->tv_sec) * 1000 + (t.tv_nsec - t0->tv_nsec) / 1000000;
}

static void on_usr1(int s) { (void)s; }

int main(void) {
    setvbuf(stdout, 0, _IONBF, 0);
    umask(022);
    unlink(F);
    printf("mkfifo: %s\n", err(mkfifo(F, 0666)));
    struct stat st;
    stat(F, &st);
    printf("a FIFO: %s, mode %o\n", S_ISFIFO(st.st_mode) ? "yes" : "no", st.st_mode & 0777);
    printf("mkfifo again: %s\n", err(mkfifo(F, 0666)));
    printf("write-only, non-blocking, no reader: %s\n", err(open(F, O_WRONLY | O_NONBLOCK)));

    int r = open(F, O_RDONLY | O_NONBLOCK);
    char buf[64];
    printf("read-only, non-blocking: %s; read with no writer: %zd\n", err(r), read(r, buf, sizeof buf));
    int w = open(F, O_WRONLY | O_NONBLOCK);
    printf("write-only with a reader: %s\n", err(w));
    printf("write: %zd\n", write(w, "hi", 2));
    struct pollfd p = {.fd = r, .events = POLLIN};
    int pr = poll(&p, 1, 0);
    printf("poll: %d POLLIN=%d\n", pr, !!(p.revents & POLLIN));
    ssize_t n = read(r, buf, sizeof buf);
    printf("read: %zd '%.*s'\n", n, (int)n, buf);
    printf("read, writer open, no data: %s\n", err(read(r, buf, sizeof buf)));
    fstat(w, &st);
    printf("fstat of an end: FIFO %s, same inode as the path: ", S_ISFIFO(st.st_mode) ? "yes" : "no");
    struct stat st2;
    stat(F, &st2);
    printf("%s\n", st.st_ino == st2.st_ino ? "yes" : "no");
    close(w);
    printf("read after the writer closed: %zd\n", read(r, buf, sizeof buf));
    close(r);

    /* A blocking read-only open waits for a writer. */
    struct timespec t0;
    clock_gettime(CLOCK_MONOTONIC, &t0);
    pid_t c = fork();
    if (c == 0) {
        usleep(50000);
        int fd = open(F, O_WRONLY);
        write(fd, "from the child", 14);
        close(fd);
        _exit(0);
    }
    r = open(F, O_RDONLY);
    long waited = ms_since(&t0);
    n = read(r, buf, sizeof buf);
    printf("reader waited for the writer: %s; read '%.*s'\n", waited >= 40 ? "yes" : "no", (int)n, buf);
    printf("then EOF: %zd\n", read(r, buf, sizeof buf));
    close(r);
    waitpid(c, 0, 0);

    /* A blocking write-only open waits for a reader. */
    clock_gettime(CLOCK_MONOTONIC, &t0);
    c = fork();
    if (c == 0) {
        usleep(50000);
        int fd = open(F, O_RDONLY);
        char b[32];
        ssize_t m = read(fd, b, sizeof b);
        printf("child read '%.*s'\n", (int)m, b);
        _exit(0);
    }
    w = open(F, O_WRONLY);
    waited = ms_since(&t0);
    printf("writer waited for the reader: %s\n", waited >= 40 ? "yes" : "no");
    write(w, "to the child", 12);
    close(w);
    waitpid(c, 0, 0);

    /* O_RDWR does not wait and holds both ends. */
    int rw = open(F, O_RDWR);
    printf("read-write open: %s\n", err(rw));
    write(rw, "loop", 4);
    n = read(rw, buf, sizeof buf);
    printf("read back through it: '%.*s'\n", (int)n, buf);
    close(rw);

    /* A signal ends a waiting open (no SA_RESTART): EINTR, and nothing stays open. */
    struct sigaction sa = {.sa_handler = on_usr1};
    sigaction(SIGUSR1, &sa, 0);
    pid_t parent = getpid();
    c = fork();
    if (c == 0) {
        usleep(50000);
        kill(parent, SIGUSR1);
        _exit(0);
    }
    printf("waiting open interrupted: %s\n", err(open(F, O_RDONLY)));
    waitpid(c, 0, 0);
    printf("no reader left behind: %s\n", err(open(F, O_WRONLY | O_NONBLOCK)));

    unlink(F);
    printf("mknod S_IFIFO: %s\n", err(mknod(F, S_IFIFO | 0600, 0)));
    stat(F, &st);
    printf("a FIFO again: %s, mode %o\n", S_ISFIFO(st.st_mode) ? "yes" : "no", st.st_mode & 0777);
    unlink(F);
    printf("mknod S_IFDIR: %s\n", err(mknod(F, S_IFDIR | 0700, 0)));
    printf("mknod of an unknown type: %s\n", err(mknod(F, 0170000 | 0600, 0)));
    printf("mknod regular: %s, ", err(mknod(F, S_IFREG | 0600, 0)));
    stat(F, &st);
    printf("a file: %s\n", S_ISREG(st.st_mode) ? "yes" : "no");
    unlink(F);
    printf("mknod char device 1:3: %s, ", err(mknod(F, S_IFCHR | 0600, makedev(1, 3))));
    stat(F, &st);
    printf("major %u minor %u, ", major(st.st_rdev), minor(st.st_rdev));
    int d = open(F, O_WRONLY);
    printf("opens as /dev/null: %s\n", d >= 0 && write(d, "x", 1) == 1 ? "yes" : "no");
    close(d);
    unlink(F);
    printf("fifo done\n");
    return 0;
}
