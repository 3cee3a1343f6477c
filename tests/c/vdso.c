/* The vDSO: present in auxv, an ELF image, and its clocks agree with the
 * system calls. */
#include <stdio.h>
#include <string.h>
#include <sys/auxv.h>
#include <sys/syscall.h>
#include <sys/time.h>
#include <time.h>
#include <unistd.h>

static long diff_ms(struct timespec a, struct timespec b) {
    return (b.tv_sec - a.tv_sec) * 1000 + (b.tv_nsec - a.tv_nsec) / 1000000;
}

int main(void) {
    unsigned char *ehdr = (unsigned char *)getauxval(AT_SYSINFO_EHDR);
    printf("vDSO mapped: %s\n", ehdr && memcmp(ehdr, "\177ELF", 4) == 0 ? "yes" : "no");
    int ok = 1;
    for (int clk = 0; clk < 2; clk++) {
        struct timespec v, s;
        clock_gettime(clk, &v);
        syscall(SYS_clock_gettime, clk, &s);
        long d = diff_ms(v, s);
        ok &= d >= 0 && d < 100;
    }
    printf("vDSO clocks agree with the syscall: %s\n", ok ? "yes" : "no");
    struct timeval tv;
    gettimeofday(&tv, 0);
    time_t t = time(0);
    printf("gettimeofday and time agree: %s\n", (t - tv.tv_sec) >= 0 && (t - tv.tv_sec) <= 1 ? "yes" : "no");
    struct timespec a, b;
    clock_gettime(CLOCK_MONOTONIC, &a);
    for (int i = 0; i < 100000; i++) clock_gettime(CLOCK_MONOTONIC, &b);
    printf("monotonic never goes back: %s\n", diff_ms(a, b) >= 0 ? "yes" : "no");
    return 0;
}
