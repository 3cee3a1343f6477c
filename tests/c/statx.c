/* statx against stat: files, directories, symlinks (followed or not),
 * devices, AT_EMPTY_PATH, and the error cases. Run under Selkie and natively. */
#define _GNU_SOURCE
#include <errno.h>
#include <fcntl.h>
#include <stdio.h>
#include <string.h>
#include <sys/stat.h>
#include <sys/sysmacros.h>
#include <sys/syscall.h>
#include <unistd.h>
#include <linux/stat.h>

/* musl 1.2.3 has no statx wrapper. */
static int statx(int dirfd, const char *path, int flags, unsigned mask, struct statx *buf) {
    return syscall(SYS_statx, dirfd, path, flags, mask, buf);
}

static const char *same(const char *path, int flags) {
    struct statx x;
    struct stat s;
    if (statx(AT_FDCWD, path, flags, STATX_BASIC_STATS, &x) < 0) return strerror(errno);
    int r = flags & AT_SYMLINK_NOFOLLOW ? lstat(path, &s) : stat(path, &s);
    if (r < 0) return "stat failed";
    if ((x.stx_mask & STATX_BASIC_STATS) != STATX_BASIC_STATS) return "mask lacks basic stats";
    if (x.stx_mode != s.st_mode || x.stx_ino != s.st_ino || x.stx_nlink != s.st_nlink || x.stx_size != (unsigned long long)s.st_size ||
        x.stx_uid != s.st_uid || x.stx_gid != s.st_gid || x.stx_blocks != (unsigned long long)s.st_blocks)
        return "differs";
    if (x.stx_mtime.tv_sec != s.st_mtim.tv_sec || x.stx_mtime.tv_nsec != (unsigned)s.st_mtim.tv_nsec) return "mtime differs";
    if (makedev(x.stx_rdev_major, x.stx_rdev_minor) != s.st_rdev) return "rdev differs";
    if (makedev(x.stx_dev_major, x.stx_dev_minor) != s.st_dev) return "dev differs";
    return "same as stat";
}

int main(void) {
    setvbuf(stdout, 0, _IONBF, 0);
    int fd = open("/tmp/statx-test", O_RDWR | O_CREAT | O_TRUNC, 0640);
    write(fd, "0123456789", 10);
    symlink("/tmp/statx-test", "/tmp/statx-link");
    printf("file: %s\n", same("/tmp/statx-test", 0));
    printf("directory: %s\n", same("/tmp", 0));
    printf("symlink followed: %s\n", same("/tmp/statx-link", 0));
    printf("symlink itself: %s\n", same("/tmp/statx-link", AT_SYMLINK_NOFOLLOW));
    printf("/dev/null: %s\n", same("/dev/null", 0));
    struct statx x;
    statx(AT_FDCWD, "/dev/null", 0, STATX_BASIC_STATS, &x);
    printf("/dev/null is %u:%u\n", x.stx_rdev_major, x.stx_rdev_minor);
    memset(&x, 0, sizeof x);
    int r = statx(fd, "", AT_EMPTY_PATH, STATX_SIZE, &x);
    printf("AT_EMPTY_PATH on a descriptor: %d, size %llu, mode %o\n", r, (unsigned long long)x.stx_size,
           x.stx_mode & 07777);
    r = statx(fd, "", 0, STATX_BASIC_STATS, &x);
    printf("empty path without AT_EMPTY_PATH: %d %s\n", r, strerror(errno));
    r = statx(AT_FDCWD, "/tmp/no-such", 0, STATX_BASIC_STATS, &x);
    printf("missing: %d %s\n", r, strerror(errno));
    r = statx(AT_FDCWD, "/tmp", 0x40000000, STATX_BASIC_STATS, &x);
    printf("unknown flag: %d %s\n", r, strerror(errno));
    r = statx(AT_FDCWD, "/tmp", 0, 0x80000000u, &x);
    printf("reserved mask bit: %d %s\n", r, strerror(errno));
    r = statx(AT_FDCWD, "/tmp", 0, STATX_BASIC_STATS, (struct statx *)8);
    printf("bad buffer: %d %s\n", r, strerror(errno));
    unlink("/tmp/statx-link");
    unlink("/tmp/statx-test");
    printf("statx done\n");
    return 0;
}
