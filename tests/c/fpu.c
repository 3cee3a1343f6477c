/* FPU and SSE state across signals, fork and exec: the signal frame saves it
 * (uc_mcontext.fpregs) and rt_sigreturn restores it, handlers start with a
 * clean state, fork keeps it, exec resets it. Run under Selkie and natively. */
#define _GNU_SOURCE
#include <fenv.h>
#include <signal.h>
#include <stdint.h>
#include <stdio.h>
#include <string.h>
#include <sys/syscall.h>
#include <sys/time.h>
#include <sys/wait.h>
#include <ucontext.h>
#include <unistd.h>

static volatile unsigned handler_mxcsr;
static volatile int fpregs_present, handler_round;
static volatile int rewrite_mxcsr;

static unsigned get_mxcsr(void) {
    unsigned m;
    __asm__ volatile("stmxcsr %0" : "=m"(m));
    return m;
}

static void handler(int sig, siginfo_t *si, void *ctx) {
    (void)sig;
    (void)si;
    ucontext_t *uc = ctx;
    fpregs_present = uc->uc_mcontext.fpregs != 0;
    handler_mxcsr = get_mxcsr();
    handler_round = fegetround();
    /* Clobber every XMM register and the control state. */
    __asm__ volatile(
        "pcmpeqd %%xmm0, %%xmm0\n movdqa %%xmm0, %%xmm1\n movdqa %%xmm0, %%xmm2\n movdqa %%xmm0, %%xmm3\n"
        "movdqa %%xmm0, %%xmm4\n movdqa %%xmm0, %%xmm5\n movdqa %%xmm0, %%xmm6\n movdqa %%xmm0, %%xmm7\n"
        "movdqa %%xmm0, %%xmm8\n movdqa %%xmm0, %%xmm9\n movdqa %%xmm0, %%xmm10\n movdqa %%xmm0, %%xmm11\n"
        "movdqa %%xmm0, %%xmm12\n movdqa %%xmm0, %%xmm13\n movdqa %%xmm0, %%xmm14\n movdqa %%xmm0, %%xmm15\n" ::
            : "xmm0", "xmm1", "xmm2", "xmm3", "xmm4", "xmm5", "xmm6", "xmm7", "xmm8", "xmm9", "xmm10", "xmm11",
              "xmm12", "xmm13", "xmm14", "xmm15");
    fesetround(FE_UPWARD);
    if (rewrite_mxcsr && uc->uc_mcontext.fpregs) {
        /* The frame's copy is what comes back: round toward zero. */
        uc->uc_mcontext.fpregs->mxcsr = (uc->uc_mcontext.fpregs->mxcsr & ~0x6000u) | 0x6000u;
    }
}

/* Loads a pattern into every XMM register, makes kill(getpid(), SIGUSR1)
 * right there, and checks the registers afterwards. */
static int xmm_survive_a_signal(void) {
    static uint64_t in[32] __attribute__((aligned(16))), out[32] __attribute__((aligned(16)));
    for (int i = 0; i < 32; i++) in[i] = 0x1111111111111111ULL * (uint64_t)(i % 15 + 1) + (uint64_t)i;
    long pid = getpid();
    long nr = SYS_kill, sig = SIGUSR1, ret;
    __asm__ volatile(
        "movdqa 0(%[in]), %%xmm0\n movdqa 16(%[in]), %%xmm1\n movdqa 32(%[in]), %%xmm2\n movdqa 48(%[in]), %%xmm3\n"
        "movdqa 64(%[in]), %%xmm4\n movdqa 80(%[in]), %%xmm5\n movdqa 96(%[in]), %%xmm6\n movdqa 112(%[in]), %%xmm7\n"
        "movdqa 128(%[in]), %%xmm8\n movdqa 144(%[in]), %%xmm9\n movdqa 160(%[in]), %%xmm10\n movdqa 176(%[in]), %%xmm11\n"
        "movdqa 192(%[in]), %%xmm12\n movdqa 208(%[in]), %%xmm13\n movdqa 224(%[in]), %%xmm14\n movdqa 240(%[in]), %%xmm15\n"
        "syscall\n"
        "movdqa %%xmm0, 0(%[out])\n movdqa %%xmm1, 16(%[out])\n movdqa %%xmm2, 32(%[out])\n movdqa %%xmm3, 48(%[out])\n"
        "movdqa %%xmm4, 64(%[out])\n movdqa %%xmm5, 80(%[out])\n movdqa %%xmm6, 96(%[out])\n movdqa %%xmm7, 112(%[out])\n"
        "movdqa %%xmm8, 128(%[out])\n movdqa %%xmm9, 144(%[out])\n movdqa %%xmm10, 160(%[out])\n movdqa %%xmm11, 176(%[out])\n"
        "movdqa %%xmm12, 192(%[out])\n movdqa %%xmm13, 208(%[out])\n movdqa %%xmm14, 224(%[out])\n movdqa %%xmm15, 240(%[out])\n"
        : "=a"(ret)
        : "a"(nr), "D"(pid), "S"(sig), [in] "r"(in), [out] "r"(out)
        : "rcx", "r11", "memory", "xmm0", "xmm1", "xmm2", "xmm3", "xmm4", "xmm5", "xmm6", "xmm7", "xmm8", "xmm9",
          "xmm10", "xmm11", "xmm12", "xmm13", "xmm14", "xmm15");
    return ret == 0 && memcmp(in, out, sizeof in) == 0;
}

static volatile int ticks;
static void on_alarm(int s) {
    (void)s;
    volatile double x = 1.0;
    for (int i = 0; i < 100; i++) x = x * 1.5 + 0.25; /* floating point in the handler */
    ticks++;
}

int main(int argc, char **argv) {
    setvbuf(stdout, 0, _IONBF, 0);
    if (argc > 1) {
        printf("after exec: rounding to nearest: %s, MXCSR %#x\n", fegetround() == FE_TONEAREST ? "yes" : "no",
               get_mxcsr() & 0xffc0);
        return 0;
    }
    struct sigaction sa = {.sa_sigaction = handler, .sa_flags = SA_SIGINFO};
    sigaction(SIGUSR1, &sa, 0);
    printf("XMM registers survive a handler that clobbers them: %s\n", xmm_survive_a_signal() ? "yes" : "no");
    printf("the frame has an FPU state: %s\n", fpregs_present ? "yes" : "no");

    fesetround(FE_TOWARDZERO);
    raise(SIGUSR1);
    printf("the handler starts rounding to nearest: %s, MXCSR %#x\n", handler_round == FE_TONEAREST ? "yes" : "no",
           handler_mxcsr & 0xffc0);
    printf("after the handler: still toward zero: %s\n", fegetround() == FE_TOWARDZERO ? "yes" : "no");

    fesetround(FE_TONEAREST);
    rewrite_mxcsr = 1;
    raise(SIGUSR1);
    rewrite_mxcsr = 0;
    printf("a handler's change to the saved state comes back: %s\n", fegetround() == FE_TOWARDZERO ? "yes" : "no");
    fesetround(FE_TONEAREST);

    /* Timer signals interrupting a floating-point loop do not disturb it. */
    signal(SIGALRM, on_alarm);
    struct itimerval it = {{0, 2000}, {0, 2000}};
    setitimer(ITIMER_REAL, &it, 0);
    double sum = 0;
    for (long i = 1; i <= 3000000 || ticks < 5; i++) {
        sum += 1.0 / (double)(i % 1000 + 1);
        if (i == 3000000) printf("loop sum: %.6f\n", sum);
    }
    struct itimerval off = {{0, 0}, {0, 0}};
    setitimer(ITIMER_REAL, &off, 0);
    printf("timer signals during the loop: %s\n", ticks >= 5 ? "yes" : "no");

    fesetround(FE_DOWNWARD);
    pid_t c = fork();
    if (c == 0) _exit(fegetround() == FE_DOWNWARD ? 0 : 1);
    int st;
    waitpid(c, &st, 0);
    printf("a forked child keeps the rounding mode: %s\n", WEXITSTATUS(st) == 0 ? "yes" : "no");
    c = fork();
    if (c == 0) {
        execl(argv[0], argv[0], "exec", (char *)0);
        _exit(127);
    }
    waitpid(c, &st, 0);
    printf("fpu done\n");
    return 0;
}
