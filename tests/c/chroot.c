/* chroot: paths, absolute symlinks and `..` stay inside the new root; a
 * program copied there runs. Run under Selkie and natively. */
#define _GNU_SOURCE
#include <errno.h>
#include <fcntl.h>
#include <stdio.h>
#include <string.h>
#include <sys/stat.h>
#include <sys/wait.h>
#include <unistd.h>

static const char *err(int r) {
    if (r >= 0) return "ok";
    return errno == ENOENT ? "ENOENT" : errno == ENOTDIR ? "ENOTDIR" : "other";
}

static void show(const char *path) {
    char buf[64] = {0};
    int fd = open(path, O_RDONLY);
    if (fd < 0) {
        printf("%s: %s\n", path, err(fd));
        return;
    }
    ssize_t n = read(fd, buf, sizeof buf - 1);
    close(fd);
    printf("%s: %.*s", path, (int)n, buf);
}

static int copy(const char *from, const char *to) {
    int in = open(from, O_RDONLY), out = open(to, O_WRONLY | O_CREAT | O_TRUNC, 0755);
    if (in < 0 || out < 0) return -1;
    char buf[65536];
    ssize_t n;
    while ((n = read(in, buf, sizeof buf)) > 0) write(out, buf, n);
    close(in);
    close(out);
    return 0;
}

int main(void) {
    setvbuf(stdout, 0, _IONBF, 0);
    unlink("/tmp/jail/etc/name");
    unlink("/tmp/jail/abs");
    unlink("/tmp/jail/hello");
    rmdir("/tmp/jail/etc");
    rmdir("/tmp/jail");
    mkdir("/tmp/jail", 0755);
    mkdir("/tmp/jail/etc", 0755);
    int fd = open("/tmp/jail/etc/name", O_WRONLY | O_CREAT, 0644);
    write(fd, "inside the jail\n", 16);
    close(fd);
    symlink("/etc/name", "/tmp/jail/abs");
    copy("/tests/hello", "/tmp/jail/hello");

    printf("chroot to a file: %s\n", err(chroot("/tmp/jail/etc/name")));
    printf("chroot to nothing: %s\n", err(chroot("/no/such/dir")));
    chdir("/tmp/jail");
    printf("chroot .: %s\n", err(chroot(".")));
    char cwd[64];
    printf("cwd: %s\n", getcwd(cwd, sizeof cwd) ? cwd : "?");
    show("/etc/name");
    show("/abs");
    chdir("..");
    printf("cwd after cd ..: %s\n", getcwd(cwd, sizeof cwd) ? cwd : "?");
    show("../../etc/name");
    struct stat st;
    printf("/tests outside: %s\n", err(stat("/tests", &st)));
    pid_t c = fork();
    if (c == 0) {
        execl("/hello", "/hello", "jailed", (char *)0);
        _exit(127);
    }
    int status;
    waitpid(c, &status, 0);
    printf("program in the jail exited %d\n", WEXITSTATUS(status));
    printf("chroot done\n");
    return 0;
}
