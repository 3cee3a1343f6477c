/* Files, directories, descriptors and pipes on the tmpfs. */
#define _GNU_SOURCE
#include <dirent.h>
#include <errno.h>
#include <fcntl.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <poll.h>
#include <sys/select.h>
#include <sys/stat.h>
#include <sys/syscall.h>
#include <sys/time.h>
#include <sys/wait.h>
#include <unistd.h>

static void check(const char *what, int ok) { printf("%s: %s\n", what, ok ? "ok" : "FAILED"); }

static void cleanup(void) {
    const char *files[] = {"/tmp/ft/a.txt", "/tmp/ft/b.txt", "/tmp/ft/link", "/tmp/ft/out.txt", "/tmp/ft/sub/x"};
    for (unsigned i = 0; i < sizeof files / sizeof *files; i++) unlink(files[i]);
    rmdir("/tmp/ft/sub");
    rmdir("/tmp/ft");
}

int main(void) {
    cleanup();
    mkdir("/tmp/ft", 0755);
    check("chdir", chdir("/tmp/ft") == 0);
    char cwd[64];
    check("getcwd", getcwd(cwd, sizeof cwd) && strcmp(cwd, "/tmp/ft") == 0);
    int fd = open("a.txt", O_CREAT | O_WRONLY | O_TRUNC, 0644);
    check("create", fd >= 0);
    check("write", write(fd, "hello world\n", 12) == 12);
    close(fd);
    struct stat st;
    check("stat size", stat("/tmp/ft/a.txt", &st) == 0 && st.st_size == 12 && S_ISREG(st.st_mode));
    check("mode with umask", (st.st_mode & 0777) == 0644);
    fd = open("a.txt", O_RDWR);
    char buf[32] = {0};
    check("read", read(fd, buf, 5) == 5 && memcmp(buf, "hello", 5) == 0);
    check("lseek", lseek(fd, -6, SEEK_END) == 6);
    check("read after seek", read(fd, buf, 32) == 6 && memcmp(buf, "world\n", 6) == 0);
    check("pread", pread(fd, buf, 4, 2) == 4 && memcmp(buf, "llo ", 4) == 0);
    check("read at end", read(fd, buf, 4) == 0);
    close(fd);
    fd = open("a.txt", O_WRONLY | O_APPEND);
    write(fd, "more\n", 5);
    close(fd);
    stat("a.txt", &st);
    check("O_APPEND", st.st_size == 17);
    errno = 0;
    check("O_EXCL", open("a.txt", O_CREAT | O_EXCL | O_WRONLY, 0644) < 0 && errno == EEXIST);
    errno = 0;
    check("ENOENT", open("nope", O_RDONLY) < 0 && errno == ENOENT);
    errno = 0;
    check("EISDIR", open("/tmp", O_WRONLY) < 0 && errno == EISDIR);
    errno = 0;
    check("ENOTDIR", open("a.txt/x", O_RDONLY) < 0 && errno == ENOTDIR);
    check("symlink", symlink("a.txt", "link") == 0);
    ssize_t n = readlink("link", buf, sizeof buf);
    check("readlink", n == 5 && memcmp(buf, "a.txt", 5) == 0);
    check("lstat symlink", lstat("link", &st) == 0 && S_ISLNK(st.st_mode));
    check("rename", rename("a.txt", "b.txt") == 0 && access("b.txt", F_OK) == 0 && access("a.txt", F_OK) != 0);
    check("dangling link", stat("link", &st) != 0 && errno == ENOENT);
    mkdir("sub", 0755);
    check("rmdir non-empty", (open("sub/x", O_CREAT | O_WRONLY, 0600) >= 0) && rmdir("sub") != 0 && errno == ENOTEMPTY);
    DIR *d = opendir(".");
    int count = 0, seen_b = 0;
    struct dirent *e;
    while ((e = readdir(d))) {
        count++;
        if (!strcmp(e->d_name, "b.txt")) seen_b = e->d_type == DT_REG;
    }
    closedir(d);
    check("readdir", count == 5 && seen_b);
    check("unlink", unlink("sub/x") == 0 && rmdir("sub") == 0);
    /* dup2 onto stdout, then restore. */
    fflush(stdout);
    int saved = dup(1);
    fd = open("out.txt", O_CREAT | O_WRONLY | O_TRUNC, 0644);
    dup2(fd, 1);
    close(fd);
    printf("redirected\n");
    fflush(stdout);
    dup2(saved, 1);
    close(saved);
    fd = open("out.txt", O_RDONLY);
    memset(buf, 0, sizeof buf);
    read(fd, buf, sizeof buf);
    close(fd);
    check("dup2 redirection", strcmp(buf, "redirected\n") == 0);
    /* A pipe between two processes. */
    int p[2];
    check("pipe", pipe(p) == 0);
    pid_t c = fork();
    if (c == 0) {
        close(p[0]);
        for (int i = 0; i < 1000; i++) write(p[1], "0123456789", 10);
        _exit(0);
    }
    close(p[1]);
    long total = 0;
    while ((n = read(p[0], buf, sizeof buf)) > 0) total += n;
    close(p[0]);
    waitpid(c, 0, 0);
    check("pipe carried 10000 bytes then EOF", total == 10000);
    /* Writing to a pipe with no reader: EPIPE (SIGPIPE ignored). */
    signal(SIGPIPE, SIG_IGN);
    pipe(p);
    close(p[0]);
    errno = 0;
    check("EPIPE", write(p[1], "x", 1) < 0 && errno == EPIPE);
    close(p[1]);
    /* close-on-exec. */
    fd = open("b.txt", O_RDONLY | O_CLOEXEC);
    check("FD_CLOEXEC", fcntl(fd, F_GETFD) == FD_CLOEXEC);
    check("/dev/null", (fd = open("/dev/null", O_WRONLY)) >= 0 && write(fd, "x", 1) == 1);
    close(fd);
    fd = open("/dev/zero", O_RDONLY);
    memset(buf, 1, 8);
    check("/dev/zero", read(fd, buf, 8) == 8 && buf[0] == 0 && buf[7] == 0);
    close(fd);
    /* select and poll: a pipe becomes readable when a child writes to it; a timeout expires. */
    pipe(p);
    fd_set rd;
    FD_ZERO(&rd);
    FD_SET(p[0], &rd);
    struct timeval tv = {0, 50000};
    /* The raw syscall: musl's select() passes the kernel a copy of the timeout. */
    check("select timeout", syscall(SYS_select, p[0] + 1, &rd, 0, 0, &tv) == 0 && !FD_ISSET(p[0], &rd));
    check("select wrote back the time left: none", tv.tv_sec == 0 && tv.tv_usec == 0);
    c = fork();
    if (c == 0) {
        usleep(50000);
        write(p[1], "z", 1);
        _exit(0);
    }
    FD_ZERO(&rd);
    FD_SET(p[0], &rd);
    tv.tv_sec = 5;
    tv.tv_usec = 0;
    int sel = syscall(SYS_select, p[0] + 1, &rd, 0, 0, &tv);
    check("select wakes on data", sel == 1 && FD_ISSET(p[0], &rd));
    check("select wrote back the time left: some", tv.tv_sec < 5 && (tv.tv_sec > 0 || tv.tv_usec > 0));
    struct pollfd pf = {p[0], POLLIN, 0};
    check("poll sees data", poll(&pf, 1, 1000) == 1 && (pf.revents & POLLIN));
    waitpid(c, 0, 0);
    int bad = dup(0);
    close(bad);
    FD_ZERO(&rd);
    FD_SET(bad, &rd);
    errno = 0;
    tv.tv_sec = 1;
    check("select on a closed fd: EBADF", select(bad + 1, &rd, 0, 0, &tv) < 0 && errno == EBADF);
    close(p[0]);
    close(p[1]);
    /* Entries removed while a directory is listed (rm -r) make it skip none. */
    mkdir("/tmp/ft/many", 0755);
    for (int i = 0; i < 100; i++) {
        char name[64];
        snprintf(name, sizeof name, "/tmp/ft/many/entry-with-a-long-name-%03d", i);
        close(open(name, O_CREAT | O_WRONLY, 0644));
    }
    DIR *many = opendir("/tmp/ft/many");
    int removed = 0;
    for (struct dirent *e; (e = readdir(many));) {
        if (e->d_name[0] != '.' && unlinkat(dirfd(many), e->d_name, 0) == 0) removed++;
    }
    closedir(many);
    check("unlink while listing: all 100", removed == 100 && rmdir("/tmp/ft/many") == 0);
    chdir("/");
    cleanup();
    check("cleaned up", access("/tmp/ft", F_OK) != 0);
    return 0;
}
