/* An unimplemented syscall fails with ENOSYS instead of faking success. */
#include <errno.h>
#include <stdio.h>
#include <sys/syscall.h>
#include <unistd.h>

int main(void) {
    long r = syscall(SYS_add_key, "user", "k", "v", 1, 0);
    int ok = (r == -1 && errno == ENOSYS);
    printf("add_key: %s\n", ok ? "ENOSYS" : "unexpected");
    r = syscall(100000);
    printf("syscall 100000: %s\n", r == -1 && errno == ENOSYS ? "ENOSYS" : "unexpected");
    ok &= (r == -1 && errno == ENOSYS);
    printf("%s\n", ok ? "enosys ok" : "enosys BAD");
    return ok ? 0 : 1;
}
