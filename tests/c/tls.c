/* Thread-local variables: initialised (tdata) and zeroed (tbss). */
#include <stdio.h>

static __thread int counter = 41;
static __thread char buf[64];
static __thread long zero;

int main(void) {
    counter++;
    buf[0] = 'x';
    zero += 7;
    printf("counter=%d buf0=%c zero=%ld\n", counter, buf[0], zero);
    printf("%s\n", (counter == 42 && buf[1] == 0 && zero == 7) ? "tls ok" : "tls BAD");
    return counter == 42 ? 0 : 1;
}
