/* Hardware faults delivered to handlers: SIGSEGV with si_addr and siglongjmp,
 * a handler that fixes the fault and returns, stack overflow on an alternate
 * stack, SIGFPE and SIGILL. */
#include <setjmp.h>
#include <signal.h>
#include <stdio.h>
#include <string.h>
#include <sys/mman.h>
#include <unistd.h>

static sigjmp_buf env;
static volatile void *fault_addr;
static volatile int fault_code, fixed;
static char *page;

static void jump_out(int sig, siginfo_t *si, void *uc) {
    (void)uc;
    fault_addr = si->si_addr;
    fault_code = si->si_code;
    siglongjmp(env, sig);
}

static void fix_and_return(int sig, siginfo_t *si, void *uc) {
    (void)sig; (void)uc;
    mprotect((void *)((unsigned long)si->si_addr & ~4095UL), 4096, PROT_READ | PROT_WRITE);
    fixed++;
}

static int depth;
#pragma GCC diagnostic ignored "-Winfinite-recursion"
#pragma GCC diagnostic ignored "-Warray-bounds"
static int recurse(int n) {
    volatile char buf[1024];
    buf[0] = (char)n;
    depth++;
    return recurse(n + 1) + buf[0];
}

int main(void) {
    struct sigaction sa;
    memset(&sa, 0, sizeof sa);
    sa.sa_sigaction = jump_out;
    sa.sa_flags = SA_SIGINFO;
    sigaction(SIGSEGV, &sa, 0);
    int s = sigsetjmp(env, 1);
    if (s == 0) {
        *(volatile int *)16 = 1;
    }
    printf("SIGSEGV caught: sig=%d addr=%p code=%d\n", s, (void *)fault_addr, fault_code);

    /* A handler that makes the page writable and returns: the write is redone. */
    page = mmap(0, 4096, PROT_READ, MAP_PRIVATE | MAP_ANONYMOUS, -1, 0);
    sa.sa_sigaction = fix_and_return;
    sigaction(SIGSEGV, &sa, 0);
    volatile char *vp = page;
    long a = 3, b = 4, c = 5;
    vp[100] = 42;
    printf("write redone after the handler: %d (handler ran %d time), registers intact: %s\n", vp[100],
           (int)fixed, a + b + c == 12 ? "yes" : "no");

    /* Stack overflow, handled on an alternate stack. */
    static char alt[65536];
    stack_t ss = {.ss_sp = alt, .ss_size = sizeof alt, .ss_flags = 0};
    sigaltstack(&ss, 0);
    sa.sa_sigaction = jump_out;
    sa.sa_flags = SA_SIGINFO | SA_ONSTACK;
    sigaction(SIGSEGV, &sa, 0);
    s = sigsetjmp(env, 1);
    if (s == 0) recurse(0);
    printf("stack overflow caught on the alternate stack: sig=%d deep=%s\n", s, depth > 1000 ? "yes" : "no");

    /* Division by zero and an illegal instruction. */
    memset(&sa, 0, sizeof sa);
    sa.sa_sigaction = jump_out;
    sa.sa_flags = SA_SIGINFO;
    sigaction(SIGFPE, &sa, 0);
    sigaction(SIGILL, &sa, 0);
    s = sigsetjmp(env, 1);
    if (s == 0) {
        volatile int zero = 0, hundred = 100;
        printf("%d\n", hundred / zero);
    }
    printf("SIGFPE caught: sig=%d code=%d\n", s, fault_code);
    s = sigsetjmp(env, 1);
    if (s == 0) __asm__ volatile("ud2");
    printf("SIGILL caught: sig=%d\n", s);
    return 0;
}
