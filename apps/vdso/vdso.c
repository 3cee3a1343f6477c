/*
 * Selkie's vDSO: clock_gettime, gettimeofday, time and getcpu without a trap.
 *
 * Time comes from the TSC, scaled with parameters the LibOS writes into the
 * data page (.vvar, the last page of this image) when it maps the vDSO into a
 * process: the TSC frequency the seL4 kernel calibrated, the TSC at boot and
 * the wall-clock time at boot. Clocks it does not know fall back to the real
 * system call, which Selkie traps like any other.
 */
struct vvar {
    unsigned long tsc_mhz;
    unsigned long boot_tsc;
    unsigned long epoch_ns;
};

struct timespec_k {
    long tv_sec;
    long tv_nsec;
};

struct timeval_k {
    long tv_sec;
    long tv_usec;
};

static const volatile struct vvar vvar __attribute__((section(".vvar"), aligned(4096), used));

static inline unsigned long rdtsc(void) {
    unsigned int lo, hi;
    __asm__ volatile("rdtsc" : "=a"(lo), "=d"(hi));
    return ((unsigned long)hi << 32) | lo;
}

static inline long sys2(long nr, long a, long b) {
    long ret;
    __asm__ volatile("syscall" : "=a"(ret) : "a"(nr), "D"(a), "S"(b) : "rcx", "r11", "memory");
    return ret;
}

/* Nanoseconds since boot, without 128-bit arithmetic. */
static unsigned long mono_ns(void) {
    unsigned long mhz = vvar.tsc_mhz;
    unsigned long d = rdtsc() - vvar.boot_tsc;
    return (d / mhz) * 1000 + (d % mhz) * 1000 / mhz;
}

int __vdso_clock_gettime(int clock, struct timespec_k *ts) {
    unsigned long ns;
    if (vvar.tsc_mhz == 0) return (int)sys2(228, clock, (long)ts);
    switch (clock) {
    case 1: case 4: case 6: case 7: /* MONOTONIC, _RAW, _COARSE, BOOTTIME */
        ns = mono_ns();
        break;
    case 0: case 5: /* REALTIME, REALTIME_COARSE */
        ns = vvar.epoch_ns + mono_ns();
        break;
    default:
        return (int)sys2(228, clock, (long)ts);
    }
    ts->tv_sec = (long)(ns / 1000000000UL);
    ts->tv_nsec = (long)(ns % 1000000000UL);
    return 0;
}

int __vdso_gettimeofday(struct timeval_k *tv, void *tz) {
    if (vvar.tsc_mhz == 0 || tz) return (int)sys2(96, (long)tv, (long)tz);
    if (tv) {
        unsigned long ns = vvar.epoch_ns + mono_ns();
        tv->tv_sec = (long)(ns / 1000000000UL);
        tv->tv_usec = (long)(ns % 1000000000UL / 1000);
    }
    return 0;
}

long __vdso_time(long *t) {
    long s;
    if (vvar.tsc_mhz == 0) return sys2(201, (long)t, 0);
    s = (long)((vvar.epoch_ns + mono_ns()) / 1000000000UL);
    if (t) *t = s;
    return s;
}

long __vdso_getcpu(unsigned *cpu, unsigned *node, void *cache) {
    (void)cache;
    if (cpu) *cpu = 0;
    if (node) *node = 0;
    return 0;
}

int clock_gettime(int, struct timespec_k *) __attribute__((weak, alias("__vdso_clock_gettime")));
int gettimeofday(struct timeval_k *, void *) __attribute__((weak, alias("__vdso_gettimeofday")));
long time(long *) __attribute__((weak, alias("__vdso_time")));
long getcpu(unsigned *, unsigned *, void *) __attribute__((weak, alias("__vdso_getcpu")));
