/* A NULL dereference: the process dies of SIGSEGV. */
#include <stdio.h>

int main(void) {
    printf("about to crash\n");
    fflush(stdout);
    volatile int *p = 0;
    *p = 1;
    printf("still alive?\n");
    return 0;
}
