/* File names are bytes: names with bytes 0x80-0xff, invalid UTF-8 and valid
 * UTF-8 are created, listed, stat'ed, renamed, linked, executed and removed
 * as on Linux (any byte but '/' and NUL). Run under Selkie and natively;
 * names are printed hex-escaped, listings sorted. */
#define _GNU_SOURCE
#include <dirent.h>
#include <errno.h>
#include <fcntl.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/stat.h>
#include <sys/wait.h>
#include <unistd.h>

#define DIR_ "/tmp/bytenames"

/* A name with its bytes 0x80-0xff as \xNN. */
static const char *shown(const char *s) {
    static char out[4][1024];
    static int slot;
    char *o = out[slot++ % 4], *p = o;
    for (const unsigned char *c = (const unsigned char *)s; *c && p < o + 1000; c++) {
        if (*c >= 0x20 && *c < 0x7f) *p++ = *c;
        else p += sprintf(p, "\\x%02x", *c);
    }
    *p = 0;
    return o;
}

static int cmp(const void *a, const void *b) { return strcmp(*(char *const *)a, *(char *const *)b); }

/* The entries of `path`, sorted (bytewise), with their d_type. */
static void list(const char *what, const char *path) {
    DIR *d = opendir(path);
    if (!d) {
        printf("%s: opendir: %s\n", what, strerror(errno));
        return;
    }
    char *names[64];
    int n = 0;
    struct dirent *e;
    while ((e = readdir(d)) && n < 64) {
        if (!strcmp(e->d_name, ".") || !strcmp(e->d_name, "..")) continue;
        char *s = malloc(strlen(e->d_name) + 8);
        sprintf(s, "%s/%d", e->d_name, e->d_type);
        names[n++] = s;
    }
    closedir(d);
    qsort(names, n, sizeof *names, cmp);
    printf("%s:", what);
    for (int i = 0; i < n; i++) {
        printf(" %s", shown(names[i]));
        free(names[i]);
    }
    printf("\n");
}

static void result(const char *what, int r) {
    if (r < 0) printf("%s: -1 %s\n", what, strerror(errno));
    else printf("%s: %d\n", what, r);
}

int main(void) {
    setvbuf(stdout, 0, _IONBF, 0);
    system("rm -rf " DIR_);
    mkdir(DIR_, 0755);
    chdir(DIR_);

    /* Every byte 0x80-0xff in one name (128 bytes), and some others. */
    char high[129];
    for (int i = 0; i < 128; i++) high[i] = (char)(0x80 + i);
    high[128] = 0;
    const char *names[] = {"\x81", "\xff", "a\x80z", "\xc3\x28", "caf\xc3\xa9", "\xed\xa0\x80", "\xf8\x88\x80\x80\x80", high};
    int nn = sizeof names / sizeof *names;
    for (int i = 0; i < nn; i++) {
        int fd = open(names[i], O_CREAT | O_WRONLY | O_EXCL, 0644);
        if (fd < 0) {
            printf("create %s: %s\n", shown(names[i]), strerror(errno));
            continue;
        }
        dprintf(fd, "file %d\n", i);
        close(fd);
    }
    result("create \\x81 again, O_EXCL", open("\x81", O_CREAT | O_EXCL | O_WRONLY, 0644));
    list("after create", ".");

    struct stat st;
    for (int i = 0; i < nn; i++) {
        char path[300];
        snprintf(path, sizeof path, DIR_ "/%s", names[i]);
        int r = stat(path, &st);
        printf("stat %s: %d size %lld regular %d\n", shown(names[i]), r, (long long)st.st_size, S_ISREG(st.st_mode));
    }
    result("stat of a byte name that is not there", stat("\x82", &st));
    char buf[64] = {0};
    int fd = open(high, O_RDONLY);
    read(fd, buf, sizeof buf - 1);
    close(fd);
    printf("read the 128-byte name: %s", buf);

    /* Directories, a chdir into one and getcwd. */
    result("mkdir d\\xfe", mkdir("d\xfe", 0755));
    result("chdir d\\xfe", chdir("d\xfe"));
    char cwd[256];
    printf("getcwd: %s\n", getcwd(cwd, sizeof cwd) ? shown(cwd) : strerror(errno));
    result("create in it", close(open("in\xe0", O_CREAT | O_WRONLY, 0600)));
    chdir("..");
    list("d\\xfe", "d\xfe");

    /* Renames, links, symlinks with byte targets. */
    result("rename \\x81 -> d\\xfe/\\x82", rename("\x81", "d\xfe/\x82"));
    result("rename \\xff -> \\xc3\\x28 (replaces)", rename("\xff", "\xc3\x28"));
    result("link a\\x80z -> \\x90", link("a\x80z", "\x90"));
    result("symlink \\x9c -> d\\xfe/\\x82", symlink("d\xfe/\x82", "\x9c"));
    ssize_t n = readlink("\x9c", cwd, sizeof cwd - 1);
    cwd[n < 0 ? 0 : n] = 0;
    printf("readlink \\x9c: %zd %s\n", n, shown(cwd));
    memset(buf, 0, sizeof buf);
    fd = open("\x9c", O_RDONLY);
    read(fd, buf, sizeof buf - 1);
    close(fd);
    printf("read through the symlink: %s", buf);
    stat("a\x80z", &st);
    printf("links of a\\x80z: %ld\n", (long)st.st_nlink);
    list("after renames", ".");
    list("d\\xfe after renames", "d\xfe");

    /* A program run through a path that is not UTF-8. */
    result("symlink \\xbb -> /tests/hello", symlink("/tests/hello", "\xbb"));
    pid_t pid = fork();
    if (pid == 0) {
        char *argv[] = {DIR_ "/\xbb", 0};
        dup2(open("/dev/null", O_WRONLY), 1);
        execv(argv[0], argv);
        _exit(99);
    }
    int status;
    waitpid(pid, &status, 0);
    printf("exec through \\xbb: exit %d\n", WEXITSTATUS(status));
    /* A #! script whose interpreter's path is not UTF-8. */
    mkdir("i\xa7", 0755);
    result("symlink i\\xa7/sh -> /bin/busybox", symlink("/bin/busybox", "i\xa7/sh"));
    FILE *f = fopen("scr\xa4", "w");
    fprintf(f, "#!" DIR_ "/i\xa7/sh\nexit 7\n");
    fclose(f);
    chmod("scr\xa4", 0755);
    pid = fork();
    if (pid == 0) {
        char *argv[] = {"scr", 0};
        execv(DIR_ "/scr\xa4", argv);
        _exit(99);
    }
    waitpid(pid, &status, 0);
    printf("script with a byte interpreter: exit %d\n", WEXITSTATUS(status));

    /* Removal. */
    for (int i = 0; i < nn; i++) {
        int r = unlink(names[i]);
        printf("unlink %s: %d %s\n", shown(names[i]), r, r < 0 ? strerror(errno) : "");
    }
    unlink("\x90");
    unlink("\x9c");
    unlink("\xbb");
    unlink("i\xa7/sh");
    rmdir("i\xa7");
    unlink("scr\xa4");
    result("rmdir d\\xfe (not empty)", rmdir("d\xfe"));
    unlink("d\xfe/\x82");
    unlink("d\xfe/in\xe0");
    result("rmdir d\\xfe", rmdir("d\xfe"));
    list("at the end", ".");
    chdir("/");
    result("rmdir " DIR_, rmdir(DIR_));
    return 0;
}
