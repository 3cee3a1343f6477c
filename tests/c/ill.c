/* An illegal instruction: the process dies of SIGILL. */
#include <stdio.h>

int main(void) {
    printf("about to execute ud2\n");
    fflush(stdout);
    __asm__ volatile("ud2");
    return 0;
}
