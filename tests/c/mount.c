/* mount(2) and umount2(2) of a tmpfs: options, paths across the mount
 * point both ways, EXDEV, ENOSPC at the size limit, statfs, /proc/mounts,
 * read-only remounts (EROFS), busy unmounts (EBUSY) and lazy ones, and the
 * errors for bad calls (EINVAL, ENODEV, ENOTDIR, ENOENT, EFAULT).
 * Gives the same output natively (as root). Usage: mount */
#define _GNU_SOURCE
#include <errno.h>
#include <fcntl.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/mount.h>
#include <sys/stat.h>
#include <sys/statfs.h>
#include <sys/statvfs.h>
#include <unistd.h>

#define TMPFS_MAGIC 0x01021994

static const char *e(long r) {
    static char b[32];
    if (r >= 0) {
        snprintf(b, sizeof b, "%ld", r);
        return b;
    }
    switch (errno) {
    case EXDEV: return "EXDEV";
    case ENOSPC: return "ENOSPC";
    case EROFS: return "EROFS";
    case EBUSY: return "EBUSY";
    case EINVAL: return "EINVAL";
    case ENODEV: return "ENODEV";
    case ENOTDIR: return "ENOTDIR";
    case ENOENT: return "ENOENT";
    case EFAULT: return "EFAULT";
    default: return strerror(errno);
    }
}

/* Whether /proc/mounts has a line starting with `prefix`. */
static int listed(const char *prefix) {
    FILE *f = fopen("/proc/mounts", "r");
    char line[512];
    int found = 0;
    while (f && fgets(line, sizeof line, f))
        if (strncmp(line, prefix, strlen(prefix)) == 0)
            found = 1;
    if (f)
        fclose(f);
    return found;
}

int main(void) {
    const char *m = "/tmp/mnt-test";
    char buf[4096];
    mkdir(m, 0755);
    int fd = open("/tmp/mnt-test/under", O_CREAT | O_WRONLY, 0644);
    close(fd);
    printf("mount: %s\n", e(mount("scratch", m, "tmpfs", 0, "size=64k,mode=0750")));
    struct stat st;
    stat(m, &st);
    printf("root mode: %o\n", st.st_mode & 07777);
    printf("covered file hidden: %s\n", e(access("/tmp/mnt-test/under", F_OK)));
    printf("listed: %d\n", listed("scratch /tmp/mnt-test tmpfs rw"));
    struct statfs sf;
    statfs(m, &sf);
    printf("statfs: tmpfs %d, blocks %ld of %ld bytes\n", sf.f_type == TMPFS_MAGIC, (long)sf.f_blocks,
           (long)sf.f_bsize);

    fd = open("/tmp/mnt-test/f", O_CREAT | O_RDWR, 0644);
    printf("write: %s\n", e(write(fd, "hello", 5)));
    pread(fd, buf, 5, 0);
    printf("read back: %.5s\n", buf);
    printf("rename out: %s\n", e(rename("/tmp/mnt-test/f", "/tmp/f-moved")));
    printf("link out: %s\n", e(link("/tmp/mnt-test/f", "/tmp/f-linked")));
    printf("rename inside: %s\n", e(rename("/tmp/mnt-test/f", "/tmp/mnt-test/g")));
    memset(buf, 'x', sizeof buf);
    long total = 0, r;
    while ((r = write(fd, buf, sizeof buf)) > 0)
        total += r;
    printf("filled: %s after %s KiB\n", e(r), total >= 40 * 1024 && total <= 64 * 1024 ? "40-64" : "other");
    printf("rmdir of the mount point: %s\n", e(rmdir(m)));
    printf("umount while open: %s\n", e(umount(m)));
    close(fd);

    chdir("/tmp/mnt-test");
    printf("umount with cwd inside: %s\n", e(umount(m)));
    chdir("..");
    printf("cwd after ..: %s\n", getcwd(buf, sizeof buf));
    chdir("/");

    printf("remount ro: %s\n", e(mount(NULL, m, NULL, MS_REMOUNT | MS_RDONLY, NULL)));
    printf("create on ro: %s\n", e(open("/tmp/mnt-test/h", O_CREAT | O_WRONLY, 0644)));
    statfs(m, &sf);
    printf("statfs ro flag: %d\n", (sf.f_flags & ST_RDONLY) != 0);
    printf("listed ro: %d\n", listed("scratch /tmp/mnt-test tmpfs ro"));
    printf("remount rw: %s\n", e(mount(NULL, m, NULL, MS_REMOUNT, NULL)));
    printf("create on rw: %s\n", e(close(open("/tmp/mnt-test/h", O_CREAT | O_WRONLY, 0644))));

    printf("umount: %s\n", e(umount(m)));
    printf("file gone: %s\n", e(access("/tmp/mnt-test/g", F_OK)));
    printf("covered file back: %s\n", e(access("/tmp/mnt-test/under", F_OK)));
    printf("not listed: %d\n", !listed("scratch /tmp/mnt-test "));

    /* A lazy unmount with a file open: out of the tree, the file still works. */
    mount("lazy", m, "tmpfs", 0, NULL);
    fd = open("/tmp/mnt-test/kept", O_CREAT | O_RDWR, 0644);
    write(fd, "still", 5);
    printf("lazy umount: %s\n", e(umount2(m, MNT_DETACH)));
    printf("gone from the tree: %s\n", e(access("/tmp/mnt-test/kept", F_OK)));
    memset(buf, 0, 8);
    pread(fd, buf, 5, 0);
    printf("open file reads: %.5s\n", buf);
    close(fd);

    /* Errors. */
    printf("umount a plain directory: %s\n", e(umount("/tmp")));
    printf("umount /: %s\n", e(umount("/")));
    printf("umount nothing: %s\n", e(umount("/tmp/nope")));
    printf("umount2 bad flags: %s\n", e(umount2(m, 0x100)));
    printf("unknown type: %s\n", e(mount("x", m, "nosuchfs", 0, NULL)));
    printf("on a file: %s\n", e(mount("x", "/tmp/mnt-test/under", "tmpfs", 0, NULL)));
    printf("on nothing: %s\n", e(mount("x", "/tmp/nope", "tmpfs", 0, NULL)));
    printf("bad size: %s\n", e(mount("x", m, "tmpfs", 0, "size=lots")));
    printf("bad pointer: %s\n", e(mount("x", (char *)8, "tmpfs", 0, NULL)));
    unlink("/tmp/mnt-test/under");
    rmdir(m);
    printf("mount done\n");
    return 0;
}
