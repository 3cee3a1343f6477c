/* POSIX record locks between processes: conflicts, F_GETLK, waiting, release on close and exit. */
#define _GNU_SOURCE
#include <errno.h>
#include <fcntl.h>
#include <signal.h>
#include <stdio.h>
#include <sys/file.h>
#include <sys/wait.h>
#include <time.h>
#include <unistd.h>

static int lk(int fd, int cmd, short type, off_t start, off_t len) {
    struct flock fl = {.l_type = type, .l_whence = SEEK_SET, .l_start = start, .l_len = len};
    return fcntl(fd, cmd, &fl);
}

static long ms_now(void) {
    struct timespec t;
    clock_gettime(CLOCK_MONOTONIC, &t);
    return t.tv_sec * 1000 + t.tv_nsec / 1000000;
}

int main(void) {
    setvbuf(stdout, NULL, _IONBF, 0);
    const char *path = "/tmp/locks.dat";
    int fd = open(path, O_RDWR | O_CREAT | O_TRUNC, 0644);
    write(fd, "0123456789abcdefghij", 20);
    printf("parent write-locks bytes 0-9: %d\n", lk(fd, F_SETLK, F_WRLCK, 0, 10));
    pid_t parent = getpid();
    int go[2], back[2];
    pipe(go);
    pipe(back);
    pid_t c = fork();
    if (c == 0) {
        int cfd = open(path, O_RDWR);
        struct flock fl = {.l_type = F_RDLCK, .l_whence = SEEK_SET, .l_start = 5, .l_len = 1};
        fcntl(cfd, F_GETLK, &fl);
        printf("child F_GETLK: type=%s start=%ld len=%ld pid is parent: %s\n",
               fl.l_type == F_WRLCK ? "F_WRLCK" : "other", (long)fl.l_start, (long)fl.l_len,
               fl.l_pid == parent ? "yes" : "no");
        errno = 0;
        int r = lk(cfd, F_SETLK, F_RDLCK, 0, 1);
        printf("child F_SETLK on a locked range: %d %s\n", r, errno == EAGAIN ? "EAGAIN" : "?");
        printf("child read-locks bytes 10-19: %d\n", lk(cfd, F_SETLK, F_RDLCK, 10, 10));
        write(go[1], "g", 1);
        long t0 = ms_now();
        r = lk(cfd, F_SETLKW, F_WRLCK, 0, 10);
        long waited = ms_now() - t0;
        printf("child F_SETLKW: %d after waiting >= 50 ms: %s\n", r, waited >= 50 ? "yes" : "no");
        _exit(0);
    }
    char b;
    read(go[0], &b, 1);
    errno = 0;
    int r = lk(fd, F_SETLK, F_WRLCK, 15, 1);
    printf("parent write lock on the child's read lock: %d %s\n", r, errno == EAGAIN ? "EAGAIN" : "?");
    usleep(100000);
    lk(fd, F_SETLK, F_UNLCK, 0, 0);
    int st;
    waitpid(c, &st, 0);
    printf("child exited %d; its locks went with it: %s\n", WEXITSTATUS(st),
           lk(fd, F_SETLK, F_WRLCK, 0, 0) == 0 ? "yes" : "no");
    /* Closing any descriptor of the file drops the process's locks. */
    c = fork();
    if (c == 0) {
        int a = open(path, O_RDWR), other = open(path, O_RDONLY);
        while (lk(a, F_SETLK, F_WRLCK, 0, 0) != 0) usleep(1000);
        write(go[1], "g", 1);
        read(back[0], &b, 1);
        close(other);
        write(go[1], "g", 1);
        pause();
        _exit(0);
    }
    lk(fd, F_SETLK, F_UNLCK, 0, 0);
    read(go[0], &b, 1);
    printf("while the child holds it: %s\n", lk(fd, F_SETLK, F_RDLCK, 0, 1) != 0 ? "locked" : "free");
    write(back[1], "g", 1);
    read(go[0], &b, 1);
    printf("after it closed another descriptor: %s\n", lk(fd, F_SETLK, F_RDLCK, 0, 1) == 0 ? "free" : "locked");
    kill(c, SIGKILL);
    waitpid(c, 0, 0);
    errno = 0;
    int ro = open(path, O_RDONLY);
    r = lk(ro, F_SETLK, F_WRLCK, 0, 1);
    printf("write lock through a read-only descriptor: %d %s\n", r, errno == EBADF ? "EBADF" : "?");
    /* flock: owned by the open file description, shared across fork, separate from fcntl locks. */
    lk(fd, F_SETLK, F_UNLCK, 0, 0);
    int a = open(path, O_RDWR);
    printf("flock LOCK_EX: %d\n", flock(a, LOCK_EX));
    c = fork();
    if (c == 0) {
        printf("child, same description, LOCK_EX|LOCK_NB: %d\n", flock(a, LOCK_EX | LOCK_NB));
        int bfd = open(path, O_RDWR);
        errno = 0;
        int r2 = flock(bfd, LOCK_SH | LOCK_NB);
        printf("child, own description, LOCK_SH|LOCK_NB: %d %s\n", r2, errno == EWOULDBLOCK ? "EWOULDBLOCK" : "?");
        printf("fcntl lock while a flock is held: %d\n", lk(bfd, F_SETLK, F_WRLCK, 0, 0));
        close(a);
        write(go[1], "g", 1);
        long t0 = ms_now();
        r2 = flock(bfd, LOCK_SH);
        printf("child LOCK_SH: %d after waiting >= 50 ms: %s\n", r2, ms_now() - t0 >= 50 ? "yes" : "no");
        _exit(0);
    }
    read(go[0], &b, 1);
    usleep(100000);
    flock(a, LOCK_UN);
    waitpid(c, &st, 0);
    errno = 0;
    r = flock(a, LOCK_SH | LOCK_EX);
    printf("flock with a bad operation: %d %s\n", r, errno == EINVAL ? "EINVAL" : "?");
    close(a);
    /* Both ends of a pipe are one file: their descriptions contend. */
    int pp[2];
    pipe(pp);
    int r1 = flock(pp[0], LOCK_EX);
    errno = 0;
    r = flock(pp[1], LOCK_EX | LOCK_NB);
    printf("flock on a pipe: %d, the other end: %d %s\n", r1, r, errno == EWOULDBLOCK ? "EWOULDBLOCK" : "?");
    close(pp[0]);
    printf("after the first end closed: %d\n", flock(pp[1], LOCK_EX | LOCK_NB));
    close(pp[1]);
    unlink(path);
    return 0;
}
