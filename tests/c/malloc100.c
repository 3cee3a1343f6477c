/* 100 MB through malloc (mmap underneath), every page touched and checked. */
#include <stdio.h>
#include <stdlib.h>

int main(void) {
    size_t n = 100u << 20;
    unsigned char *p = malloc(n);
    if (!p) { printf("malloc failed\n"); return 1; }
    for (size_t i = 0; i < n; i += 4096) p[i] = (unsigned char)(i >> 12);
    for (size_t i = 0; i < n; i += 4096)
        if (p[i] != (unsigned char)(i >> 12)) { printf("mismatch at %zu\n", i); return 1; }
    free(p);
    printf("malloc ok\n");
    return 0;
}
