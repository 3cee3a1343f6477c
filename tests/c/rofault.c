/* A write to a page made read-only with mprotect raises SIGSEGV. */
#include <stdio.h>
#include <sys/mman.h>

int main(void) {
    char *m = mmap(0, 4096, PROT_READ | PROT_WRITE, MAP_PRIVATE | MAP_ANONYMOUS, -1, 0);
    m[0] = 1;
    mprotect(m, 4096, PROT_READ);
    printf("read back %d, now writing\n", m[0]);
    fflush(stdout);
    *(volatile char *)m = 2;
    printf("write succeeded?\n");
    return 0;
}
