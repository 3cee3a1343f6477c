#define _GNU_SOURCE
/* Identity, clocks, entropy, console ioctls and limits. */
#include <sched.h>
#include <stdio.h>
#include <string.h>
#include <sys/resource.h>
#include <sys/random.h>
#include <sys/ioctl.h>
#include <sys/time.h>
#include <sys/utsname.h>
#include <termios.h>
#include <time.h>
#include <unistd.h>

int main(int argc, char **argv) {
    struct utsname u;
    uname(&u);
    printf("uname: %s %s\n", u.sysname, u.machine);
    printf("getpid positive: %s\n", getpid() > 0 ? "yes" : "no");
    printf("gettid == getpid: %s\n", gettid() == getpid() ? "yes" : "no");
    printf("uid == euid: %s\n", getuid() == geteuid() ? "yes" : "no");
    struct timespec a, b;
    clock_gettime(CLOCK_MONOTONIC, &a);
    for (volatile int i = 0; i < 1000000; i++) ;
    clock_gettime(CLOCK_MONOTONIC, &b);
    printf("monotonic advances: %s\n", (b.tv_sec > a.tv_sec || (b.tv_sec == a.tv_sec && b.tv_nsec > a.tv_nsec)) ? "yes" : "no");
    struct timeval tv;
    gettimeofday(&tv, 0);
    printf("realtime after 2020: %s\n", tv.tv_sec > 1577836800 ? "yes" : "no");
    unsigned char r1[16] = {0}, r2[16] = {0};
    printf("getrandom: %ld\n", (long)getrandom(r1, 16, 0));
    getrandom(r2, 16, 0);
    printf("random differs: %s\n", memcmp(r1, r2, 16) ? "yes" : "no");
    struct rlimit rl;
    int r;
    r = getrlimit(RLIMIT_STACK, &rl);
    printf("getrlimit stack: %d, soft limit set: %s\n", r, rl.rlim_cur > 0 ? "yes" : "no");
    cpu_set_t set;
    CPU_ZERO(&set);
    r = sched_getaffinity(0, sizeof set, &set);
    printf("sched_getaffinity: %d cpus>0=%d\n", r, CPU_COUNT(&set) > 0);
    char exe[256] = {0};
    ssize_t n = readlink("/proc/self/exe", exe, sizeof exe - 1);
    printf("/proc/self/exe matches argv[0]: %s\n", n > 0 && strcmp(exe, argv[0]) == 0 ? "yes" : "no");
    (void)argc;
    return 0;
}
