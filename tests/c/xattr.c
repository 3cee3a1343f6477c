/* Extended attributes (user. names) on files, directories and through
 * descriptors, with the errors Linux gives: ENODATA, EEXIST, ERANGE,
 * E2BIG, EOPNOTSUPP, EPERM (user. on a symlink), EINVAL, ENOENT, EFAULT.
 * Usage: xattr */
#include <errno.h>
#include <fcntl.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/stat.h>
#include <sys/xattr.h>
#include <unistd.h>

static const char *e(long r) {
    static char b[32];
    if (r >= 0) {
        snprintf(b, sizeof b, "%ld", r);
        return b;
    }
    switch (errno) {
    case ENODATA: return "ENODATA";
    case EEXIST: return "EEXIST";
    case ERANGE: return "ERANGE";
    case E2BIG: return "E2BIG";
    case EOPNOTSUPP: return "EOPNOTSUPP";
    case EPERM: return "EPERM";
    case EINVAL: return "EINVAL";
    case ENOENT: return "ENOENT";
    case EFAULT: return "EFAULT";
    default: return strerror(errno);
    }
}

/* The user. names of a list, in order, joined by commas. */
static void show_list(const char *what, const char *buf, long n) {
    printf("%s:", what);
    for (long i = 0; i < n; i += strlen(buf + i) + 1)
        if (strncmp(buf + i, "user.", 5) == 0)
            printf(" %s", buf + i);
    printf("\n");
}

int main(void) {
    const char *f = "/tmp/xattr-file", *d = "/tmp/xattr-dir", *l = "/tmp/xattr-link";
    unlink(f), unlink(l), rmdir(d);
    close(open(f, O_CREAT | O_WRONLY, 0644));
    mkdir(d, 0755);
    symlink(f, l);
    char buf[256];

    printf("set user.color: %s\n", e(setxattr(f, "user.color", "blue", 4, 0)));
    printf("size of user.color: %s\n", e(getxattr(f, "user.color", NULL, 0)));
    long n = getxattr(f, "user.color", buf, sizeof buf);
    printf("get user.color: %s = %.*s\n", e(n), n > 0 ? (int)n : 0, buf);
    printf("get into 2 bytes: %s\n", e(getxattr(f, "user.color", buf, 2)));
    printf("XATTR_CREATE over it: %s\n", e(setxattr(f, "user.color", "red", 3, XATTR_CREATE)));
    printf("XATTR_REPLACE it: %s\n", e(setxattr(f, "user.color", "green", 5, XATTR_REPLACE)));
    n = getxattr(f, "user.color", buf, sizeof buf);
    printf("now: %.*s\n", n > 0 ? (int)n : 0, buf);
    printf("XATTR_REPLACE a missing one: %s\n", e(setxattr(f, "user.none", "x", 1, XATTR_REPLACE)));
    printf("get a missing one: %s\n", e(getxattr(f, "user.none", buf, sizeof buf)));
    printf("empty value: %s", e(setxattr(f, "user.empty", "", 0, 0)));
    printf(", reads back %s bytes\n", e(getxattr(f, "user.empty", buf, sizeof buf)));

    int fd = open(f, O_RDONLY);
    printf("fsetxattr user.size: %s\n", e(fsetxattr(fd, "user.size", "42", 2, 0)));
    n = fgetxattr(fd, "user.size", buf, sizeof buf);
    printf("fgetxattr: %.*s\n", n > 0 ? (int)n : 0, buf);
    n = listxattr(f, buf, sizeof buf);
    show_list("list", buf, n);
    printf("list size query matches: %s\n", listxattr(f, NULL, 0) == n ? "yes" : "no");
    printf("list into 3 bytes: %s\n", e(listxattr(f, buf, 3)));
    printf("remove user.size: %s", e(fremovexattr(fd, "user.size")));
    printf(", again: %s\n", e(removexattr(f, "user.size")));
    n = flistxattr(fd, buf, sizeof buf);
    show_list("list after", buf, n);
    close(fd);

    printf("directory: %s\n", e(setxattr(d, "user.dir", "yes", 3, 0)));
    n = getxattr(d, "user.dir", buf, sizeof buf);
    printf("directory reads: %.*s\n", n > 0 ? (int)n : 0, buf);
    printf("through the symlink (followed): %s\n", e(getxattr(l, "user.color", buf, sizeof buf)));
    printf("user. on the symlink itself: %s\n", e(lsetxattr(l, "user.x", "1", 1, 0)));
    printf("lgetxattr on the symlink: %s\n", e(lgetxattr(l, "user.color", buf, sizeof buf)));

    printf("unknown namespace: %s\n", e(setxattr(f, "nonsense.x", "1", 1, 0)));
    printf("bare prefix: %s\n", e(setxattr(f, "user.", "1", 1, 0)));
    char longname[300];
    memset(longname, 'a', sizeof longname);
    memcpy(longname, "user.", 5);
    longname[sizeof longname - 1] = 0;
    printf("name of 299 bytes: %s\n", e(setxattr(f, longname, "1", 1, 0)));
    printf("empty name: %s\n", e(setxattr(f, "", "1", 1, 0)));
    char *big = calloc(1, 70000);
    printf("value of 70000 bytes: %s\n", e(setxattr(f, "user.big", big, 70000, 0)));
    free(big);
    printf("bad flags: %s\n", e(setxattr(f, "user.color", "1", 1, 4)));
    printf("missing file: %s\n", e(getxattr("/tmp/no-such-file", "user.x", buf, sizeof buf)));
    printf("bad name pointer: %s\n", e(getxattr(f, (const char *)8, buf, sizeof buf)));
    printf("bad value pointer: %s\n", e(getxattr(f, "user.color", (void *)8, sizeof buf)));
    unlink(f), unlink(l), rmdir(d);
    puts("xattr done");
    return 0;
}
