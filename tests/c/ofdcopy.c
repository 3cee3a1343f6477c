/* Open file description locks (F_OFD_SETLK, F_OFD_SETLKW, F_OFD_GETLK) and
 * copy_file_range. Run under Selkie and natively. */
#define _GNU_SOURCE
#include <errno.h>
#include <fcntl.h>
#include <stdio.h>
#include <string.h>
#include <sys/syscall.h>
#include <sys/wait.h>
#include <time.h>
#include <unistd.h>

#define F "/tmp/ofd-test"
#define G "/tmp/ofd-copy"

static int ofd(int fd, int cmd, short type, off_t start, off_t len) {
    struct flock l = {.l_type = type, .l_whence = SEEK_SET, .l_start = start, .l_len = len};
    return fcntl(fd, cmd, &l);
}

static const char *e(int r) {
    if (r >= 0) return "ok";
    return errno == EAGAIN ? "EAGAIN" : errno == EINVAL ? "EINVAL" : errno == EBADF ? "EBADF" : errno == EISDIR ? "EISDIR" : "other";
}

static long ms_now(void) {
    struct timespec t;
    clock_gettime(CLOCK_MONOTONIC, &t);
    return t.tv_sec * 1000 + t.tv_nsec / 1000000;
}

static ssize_t cfr(int in, off_t *oin, int out, off_t *oout, size_t len, unsigned flags) {
    return syscall(SYS_copy_file_range, in, oin, out, oout, len, flags);
}

int main(void) {
    setvbuf(stdout, 0, _IONBF, 0);
    int a = open(F, O_RDWR | O_CREAT | O_TRUNC, 0644);
    write(a, "0123456789abcdef", 16);
    int b = open(F, O_RDWR);
    printf("OFD write lock through a: %s\n", e(ofd(a, F_OFD_SETLK, F_WRLCK, 0, 10)));
    printf("the same process, another description: %s\n", e(ofd(b, F_OFD_SETLK, F_WRLCK, 5, 2)));
    struct flock q = {.l_type = F_WRLCK, .l_whence = SEEK_SET, .l_start = 0, .l_len = 0};
    fcntl(b, F_OFD_GETLK, &q);
    printf("F_OFD_GETLK from b: type %s start %ld len %ld pid %d\n", q.l_type == F_WRLCK ? "F_WRLCK" : "?",
           (long)q.l_start, (long)q.l_len, q.l_pid);
    printf("a POSIX lock of this process on the range: %s\n", e(ofd(b, F_SETLK, F_RDLCK, 0, 4)));
    int d = dup(a);
    printf("a dup of a shares the lock: %s\n", e(ofd(d, F_OFD_SETLK, F_WRLCK, 0, 10)));
    struct flock bad = {.l_type = F_RDLCK, .l_whence = SEEK_SET, .l_pid = 1};
    printf("l_pid not 0: %s\n", e(fcntl(b, F_OFD_SETLK, &bad)));
    printf("outside the range: %s\n", e(ofd(b, F_OFD_SETLK, F_WRLCK, 10, 2)));
    pid_t c = fork();
    if (c == 0) {
        /* The child's copy of a is the same description: the lock is its own. */
        printf("child through the inherited description: %s\n", e(ofd(a, F_OFD_SETLK, F_WRLCK, 0, 10)));
        close(a);
        close(d);
        int own = open(F, O_RDWR);
        long t0 = ms_now();
        int r = ofd(own, F_OFD_SETLKW, F_WRLCK, 0, 10);
        printf("child F_OFD_SETLKW on its own description: %s after >= 50 ms: %s\n", e(r), ms_now() - t0 >= 50 ? "yes" : "no");
        _exit(0);
    }
    usleep(100000);
    close(a);
    printf("closing a keeps the lock (d is still open): %s\n", e(ofd(b, F_OFD_SETLK, F_WRLCK, 0, 2)));
    close(d);
    int st;
    waitpid(c, &st, 0);
    printf("the child got it once the description closed: exit %d\n", WEXITSTATUS(st));
    printf("free after the child's description went: %s\n", e(ofd(b, F_OFD_SETLK, F_WRLCK, 0, 10)));
    close(b);

    /* copy_file_range */
    int in = open(F, O_RDONLY);
    int out = open(G, O_RDWR | O_CREAT | O_TRUNC, 0644);
    ssize_t n = cfr(in, 0, out, 0, 10, 0);
    printf("copy 10 at the file offsets: %zd, offsets now %ld and %ld\n", n, (long)lseek(in, 0, SEEK_CUR),
           (long)lseek(out, 0, SEEK_CUR));
    off_t oi = 12, oo = 20;
    n = cfr(in, &oi, out, &oo, 100, 0);
    printf("copy from 12 to 20 (a hole before it): %zd, offsets %ld %ld, file offsets unchanged: %s\n", n, (long)oi,
           (long)oo, lseek(in, 0, SEEK_CUR) == 10 ? "yes" : "no");
    char buf[32] = {0};
    pread(out, buf, sizeof buf, 0);
    printf("contents: %.10s|%d%d|%.4s size %ld\n", buf, buf[10], buf[19], buf + 20, (long)lseek(out, 0, SEEK_END));
    oi = 16;
    printf("at the end of the input: %zd\n", cfr(in, &oi, out, 0, 5, 0));
    n = cfr(in, 0, out, 0, 5, 1);
    printf("flags: %zd %s\n", n, e(n));
    n = cfr(out, 0, in, 0, 5, 0);
    printf("into a read-only descriptor: %zd %s\n", n, e(n));
    oi = 0, oo = 2;
    n = cfr(out, &oi, out, &oo, 5, 0);
    printf("overlapping ranges of one file: %zd %s\n", n, e(n));
    int dir = open("/tmp", O_RDONLY | O_DIRECTORY);
    n = cfr(dir, 0, out, 0, 5, 0);
    printf("from a directory: %zd %s\n", n, e(n));
    int p[2];
    pipe(p);
    n = cfr(p[0], 0, out, 0, 5, 0);
    printf("from a pipe: %zd %s\n", n, e(n));
    unlink(F);
    unlink(G);
    printf("ofdcopy done\n");
    return 0;
}
