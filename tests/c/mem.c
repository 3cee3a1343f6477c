#define _GNU_SOURCE
/* brk, anonymous mmap/munmap and a real mprotect. */
#include <errno.h>
#include <stdint.h>
#include <stdio.h>
#include <string.h>
#include <sys/mman.h>
#include <sys/syscall.h>
#include <unistd.h>

int main(void) {
    uintptr_t b0 = syscall(SYS_brk, 0);
    uintptr_t b1 = syscall(SYS_brk, b0 + 3 * 4096 + 5);
    printf("brk grows: %s\n", b1 == b0 + 3 * 4096 + 5 ? "yes" : "no");
    memset((void *)b0, 0xab, 3 * 4096);
    uintptr_t b2 = syscall(SYS_brk, b0);
    printf("brk shrinks: %s\n", b2 == b0 ? "yes" : "no");
    char *m = mmap(0, 1 << 20, PROT_READ | PROT_WRITE, MAP_PRIVATE | MAP_ANONYMOUS, -1, 0);
    printf("mmap: %s\n", m != MAP_FAILED ? "ok" : "failed");
    printf("fresh memory is zero: %s\n", m[12345] == 0 ? "yes" : "no");
    strcpy(m + 4096, "hello");
    printf("mprotect: %d\n", mprotect(m + 4096, 4096, PROT_READ));
    printf("read after mprotect: %s\n", m + 4096);
    errno = 0;
    long w = syscall(SYS_clock_gettime, 1, m + 4096);
    printf("kernel write to read-only page: %s\n", w == -1 && errno == EFAULT ? "EFAULT" : "unexpected");
    printf("munmap: %d\n", munmap(m, 1 << 20));
    errno = 0;
    w = syscall(SYS_write, 1, m, 1);
    printf("write from unmapped: %s\n", w == -1 && errno == EFAULT ? "EFAULT" : "unexpected");
    void *f = mmap((void *)0x200000000, 8192, PROT_READ | PROT_WRITE, MAP_PRIVATE | MAP_ANONYMOUS | MAP_FIXED_NOREPLACE, -1, 0);
    printf("MAP_FIXED_NOREPLACE: %s\n", f == (void *)0x200000000 ? "ok" : "failed");
    void *g = mmap((void *)0x200000000, 4096, PROT_READ, MAP_PRIVATE | MAP_ANONYMOUS | MAP_FIXED_NOREPLACE, -1, 0);
    printf("MAP_FIXED_NOREPLACE again: %s\n", g == MAP_FAILED && errno == EEXIST ? "EEXIST" : "unexpected");
    return 0;
}
