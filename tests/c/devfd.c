/* /proc/self/fd and /dev/fd, /dev/stdin, /dev/stdout: listings that include
 * the listing's own descriptor, and opening a descriptor's object again
 * through its link. Run under Selkie and natively. */
#define _GNU_SOURCE
#include <dirent.h>
#include <errno.h>
#include <fcntl.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/eventfd.h>
#include <sys/stat.h>
#include <unistd.h>

static void say(int fd, const char *s) { write(fd, s, strlen(s)); }

int main(void) {
    setvbuf(stdout, 0, _IONBF, 0);
    DIR *d = opendir("/proc/self/fd");
    int n = 0, own = 0;
    struct dirent *e;
    while ((e = readdir(d))) {
        if (e->d_name[0] == '.') continue;
        n++;
        if (atoi(e->d_name) == dirfd(d)) own = 1;
    }
    closedir(d);
    printf("/proc/self/fd lists %d descriptors, its own among them: %s\n", n, own ? "yes" : "no");

    int o = open("/proc/self/fd/1", O_WRONLY);
    say(o, "written through /proc/self/fd/1\n");
    close(o);
    o = open("/dev/stdout", O_WRONLY);
    say(o, "written through /dev/stdout\n");
    close(o);

    int p[2];
    pipe(p);
    char path[64];
    snprintf(path, sizeof path, "/proc/self/fd/%d", p[1]);
    int w = open(path, O_WRONLY);
    say(w, "x");
    close(w);
    char c = 0;
    printf("a pipe opened again: read '%c'\n", read(p[0], &c, 1) == 1 ? c : '?');
    close(p[0]);
    close(p[1]);

    int f = open("/tmp/devfd.txt", O_RDWR | O_CREAT | O_TRUNC, 0644);
    say(f, "contents\n");
    snprintf(path, sizeof path, "/dev/fd/%d", f);
    int f2 = open(path, O_RDONLY);
    char buf[32] = {0};
    ssize_t r = read(f2, buf, sizeof buf);
    printf("a file through /dev/fd has its own offset: %zd %.*s", r, (int)r, buf);
    close(f2);
    close(f);
    unlink("/tmp/devfd.txt");

    char link[64] = {0};
    readlink("/dev/stdin", link, sizeof link - 1);
    printf("readlink /dev/stdin: %s\n", link);
    struct stat st;
    printf("stat /dev/stdout: %s\n", stat("/dev/stdout", &st) == 0 ? "ok" : "failed");
    printf("lstat /dev/stdout is a link: %s\n", lstat("/dev/stdout", &st) == 0 && S_ISLNK(st.st_mode) ? "yes" : "no");
    int ev = eventfd(0, 0);
    snprintf(path, sizeof path, "/proc/self/fd/%d", ev);
    errno = 0;
    printf("an eventfd opened again: %s\n", open(path, O_RDWR) < 0 && errno == ENXIO ? "ENXIO" : "opened");
    printf("devfd done\n");
    return 0;
}
