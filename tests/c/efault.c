/* Bad user pointers give EFAULT; the process goes on. */
#include <errno.h>
#include <stdio.h>
#include <sys/syscall.h>
#include <unistd.h>

static int check(const char *what, long r) {
    int ok = (r == -1 && errno == EFAULT);
    printf("%s: %s\n", what, ok ? "EFAULT" : "unexpected");
    return ok;
}

int main(void) {
    int ok = 1;
    ok &= check("write from 0x1", syscall(SYS_write, 1, (void *)1, 10));
    ok &= check("write from kernel address", syscall(SYS_write, 1, (void *)0xffff800000000000UL, 10));
    ok &= check("getrandom into 0x1000", syscall(SYS_getrandom, (void *)0x1000, 10, 0));
    ok &= check("uname into NULL", syscall(SYS_uname, (void *)0));
    ok &= check("clock_gettime into 0x10", syscall(SYS_clock_gettime, 0, (void *)0x10));
    int fds[2];
    if (pipe(fds) == 0 && write(fds[1], "data", 4) == 4) {
        ok &= check("read into 0x1", syscall(SYS_read, fds[0], (void *)1, 4));
        ok &= check("read into kernel address", syscall(SYS_read, fds[0], (void *)0xffff800000000000UL, 4));
        char buf[8];
        long n = read(fds[0], buf, sizeof buf);
        printf("data still there after the failed reads: %s\n", n == 4 && buf[0] == 'd' ? "yes" : "no");
        ok &= (n == 4);
    } else {
        printf("pipe: failed\n");
        ok = 0;
    }
    printf("%s\n", ok ? "efault ok" : "efault BAD");
    return ok ? 0 : 1;
}
