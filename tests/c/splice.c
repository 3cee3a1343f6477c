/* splice and tee: pipe to file, file to pipe (with and without offsets),
 * pipe to pipe, tee that leaves its input in place, a splice that waits for
 * a writer, and the errors: EINVAL, ESPIPE, EBADF, EAGAIN, EPIPE.
 * Usage: splice */
#define _GNU_SOURCE
#include <errno.h>
#include <fcntl.h>
#include <signal.h>
#include <stdio.h>
#include <string.h>
#include <sys/wait.h>
#include <unistd.h>

static const char *e(long r) {
    static char b[32];
    if (r >= 0) {
        snprintf(b, sizeof b, "%ld", r);
        return b;
    }
    switch (errno) {
    case EINVAL: return "EINVAL";
    case ESPIPE: return "ESPIPE";
    case EBADF: return "EBADF";
    case EAGAIN: return "EAGAIN";
    case EPIPE: return "EPIPE";
    default: return strerror(errno);
    }
}

static void drain(const char *what, int fd) {
    char b[64];
    long n = read(fd, b, sizeof b);
    printf("%s: %.*s\n", what, n > 0 ? (int)n : 0, b);
}

int main(void) {
    signal(SIGPIPE, SIG_IGN);
    const char *path = "/tmp/splice-file";
    int f = open(path, O_RDWR | O_CREAT | O_TRUNC, 0644);
    int p[2], q[2];
    pipe(p);
    pipe(q);

    write(p[1], "hello world", 11);
    loff_t off = 0;
    printf("pipe to file at offset 0: %s", e(splice(p[0], NULL, f, &off, 64, 0)));
    printf(", offset now %lld, file offset %lld\n", (long long)off, (long long)lseek(f, 0, SEEK_CUR));
    off = 6;
    printf("file at offset 6 to pipe: %s\n", e(splice(f, &off, p[1], NULL, 5, 0)));
    drain("the pipe holds", p[0]);
    lseek(f, 0, SEEK_SET);
    printf("file (its own offset) to pipe: %s", e(splice(f, NULL, p[1], NULL, 5, 0)));
    printf(", file offset now %lld\n", (long long)lseek(f, 0, SEEK_CUR));
    printf("pipe to pipe: %s\n", e(splice(p[0], NULL, q[1], NULL, 100, 0)));
    drain("the second pipe holds", q[0]);

    write(p[1], "abc", 3);
    printf("tee: %s\n", e(tee(p[0], q[1], 10, 0)));
    drain("the copy", q[0]);
    drain("the original, still there", p[0]);

    printf("file to file: %s\n", e(splice(f, NULL, f, NULL, 4, 0)));
    off = 0;
    printf("an offset for the pipe end: %s\n", e(splice(p[0], &off, f, NULL, 4, 0)));
    printf("bad descriptor: %s\n", e(splice(99, NULL, p[1], NULL, 4, 0)));
    printf("write end as input: %s\n", e(splice(p[1], NULL, f, NULL, 4, 0)));
    printf("empty pipe, SPLICE_F_NONBLOCK: %s\n", e(splice(p[0], NULL, f, NULL, 4, SPLICE_F_NONBLOCK)));
    printf("bad flags: %s\n", e(splice(p[0], NULL, f, NULL, 4, 0x100)));
    printf("tee into the same pipe: %s\n", e(tee(p[0], p[1], 4, 0)));
    printf("tee from a file: %s\n", e(tee(f, p[1], 4, 0)));
    printf("length 0: %s\n", e(splice(p[0], NULL, f, NULL, 0, 0)));

    /* A splice from an empty pipe waits for the writer. */
    pid_t c = fork();
    if (c == 0) {
        usleep(100000);
        write(p[1], "late", 4);
        _exit(0);
    }
    off = 100;
    printf("waited for a writer: %s\n", e(splice(p[0], NULL, f, &off, 64, 0)));
    waitpid(c, NULL, 0);
    char b[8] = {0};
    pread(f, b, 4, 100);
    printf("the file has at 100: %s\n", b);

    /* No writer left: end of file. No reader left: EPIPE. */
    close(p[1]);
    printf("no writers: %s\n", e(splice(p[0], NULL, f, NULL, 4, 0)));
    close(q[0]);
    lseek(f, 0, SEEK_SET);
    printf("no readers: %s\n", e(splice(f, NULL, q[1], NULL, 4, 0)));
    close(f);
    unlink(path);
    puts("splice done");
    return 0;
}
