/* Pseudo-terminals: /dev/ptmx and /dev/pts/N, a child session on the slave
 * with it as its controlling terminal, line discipline, signal characters,
 * window-size changes, raw mode and hang-ups. Run under Selkie and natively;
 * the outputs must match. */
#define _GNU_SOURCE
#include <errno.h>
#include <fcntl.h>
#include <poll.h>
#include <signal.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/ioctl.h>
#include <sys/stat.h>
#include <sys/wait.h>
#include <termios.h>
#include <time.h>
#include <unistd.h>

static char out[8192];
static size_t used;

/* Reads the master until `marker` has arrived (5 s at most). */
static int read_until(int m, const char *marker) {
    for (;;) {
        out[used] = 0;
        if (strstr(out, marker)) return 1;
        struct pollfd p = {.fd = m, .events = POLLIN};
        if (poll(&p, 1, 5000) <= 0) return 0;
        ssize_t n = read(m, out + used, sizeof out - 1 - used);
        if (n <= 0) return 0;
        used += n;
    }
}

static void forget(void) { used = 0; out[0] = 0; }

static volatile sig_atomic_t got;
static void on_sig(int s) { got = s; }

/* The child: a session of its own on the slave. */
static void child(const char *name) {
    setsid();
    int s = open(name, O_RDWR); /* no O_NOCTTY: becomes the controlling terminal */
    dup2(s, 0);
    dup2(s, 1);
    dup2(s, 2);
    if (s > 2) close(s);
    setvbuf(stdout, 0, _IONBF, 0);
    printf("foreground: %s, session: %s\n", tcgetpgrp(0) == getpgrp() ? "yes" : "no",
           tcgetsid(0) == getsid(0) ? "yes" : "no");
    int t = open("/dev/tty", O_RDWR);
    printf("/dev/tty opens: %s\n", t >= 0 ? "yes" : "no");
    close(t);
    char line[128];
    if (fgets(line, sizeof line, stdin)) printf("child read [%.*s]\n", (int)strcspn(line, "\n"), line);
    struct sigaction sa = {.sa_handler = on_sig};
    sigaction(SIGINT, &sa, 0);
    sigaction(SIGWINCH, &sa, 0);
    /* The signals are let in only while waiting (no window for a lost one). */
    sigset_t block, empty;
    sigemptyset(&block);
    sigaddset(&block, SIGINT);
    sigaddset(&block, SIGWINCH);
    sigemptyset(&empty);
    sigprocmask(SIG_BLOCK, &block, 0);
    printf("waiting for signals\n");
    while (got != SIGINT) {
        struct pollfd pf = {.fd = 0, .events = POLLIN};
        ppoll(&pf, 1, 0, &empty);
        if (got == SIGWINCH) {
            struct winsize ws;
            ioctl(0, TIOCGWINSZ, &ws);
            printf("SIGWINCH: %dx%d\n", ws.ws_row, ws.ws_col);
            got = 0;
        }
    }
    sigprocmask(SIG_UNBLOCK, &block, 0);
    printf("SIGINT interrupted the wait\n");
    /* Raw mode: single bytes, no echo. */
    struct termios tio;
    tcgetattr(0, &tio);
    cfmakeraw(&tio);
    tcsetattr(0, TCSANOW, &tio);
    printf("raw\r\n");
    char c = 0;
    ssize_t n = read(0, &c, 1);
    printf("raw byte: %zd %d\r\n", n, c);
    exit(3);
}

static long ms_since(struct timespec *t0) {
    struct timespec t;
    clock_gettime(CLOCK_MONOTONIC, &t);
    return (t.tv_sec - t0->tv_sec) * 1000 + (t.tv_nsec - t0->tv_nsec) / 1000000;
}

/* Non-canonical reads: VMIN and VTIME (tenths of a second). */
static void vmin_vtime(void) {
    int m = posix_openpt(O_RDWR | O_NOCTTY);
    grantpt(m);
    unlockpt(m);
    char name[64];
    ptsname_r(m, name, sizeof name);
    int s = open(name, O_RDWR | O_NOCTTY);
    struct termios t;
    tcgetattr(s, &t);
    cfmakeraw(&t);
    char buf[16];
    struct timespec t0;
    struct { int min, time; const char *input; const char *what; } cases[] = {
        {0, 0, "", "MIN 0 TIME 0, nothing typed"},
        {0, 2, "", "MIN 0 TIME 2, nothing typed"},
        {0, 2, "ab", "MIN 0 TIME 2, two bytes typed"},
        {3, 2, "x", "MIN 3 TIME 2, one byte typed"},
        {2, 0, "xyz", "MIN 2 TIME 0, three bytes typed"},
    };
    for (unsigned i = 0; i < sizeof cases / sizeof *cases; i++) {
        t.c_cc[VMIN] = cases[i].min;
        t.c_cc[VTIME] = cases[i].time;
        tcsetattr(s, TCSAFLUSH, &t);
        if (*cases[i].input) write(m, cases[i].input, strlen(cases[i].input));
        usleep(20000);
        clock_gettime(CLOCK_MONOTONIC, &t0);
        ssize_t n = read(s, buf, sizeof buf);
        long ms = ms_since(&t0);
        printf("%s: read %zd, %s\n", cases[i].what, n,
               ms >= 150 ? "after the timeout" : ms < 100 ? "at once" : "in between");
    }
    close(s);
    close(m);
}

int main(void) {
    setvbuf(stdout, 0, _IONBF, 0);
    int m = posix_openpt(O_RDWR | O_NOCTTY);
    printf("posix_openpt: %s\n", m >= 0 ? "ok" : "FAILED");
    char name[64];
    ptsname_r(m, name, sizeof name);
    printf("slave name under /dev/pts: %s\n", strncmp(name, "/dev/pts/", 9) == 0 ? "yes" : "no");
    int early = open(name, O_RDWR | O_NOCTTY);
    printf("open while locked: %s\n", early < 0 && errno == EIO ? "EIO" : "opened");
    printf("grantpt: %d, unlockpt: %d\n", grantpt(m), unlockpt(m));
    int s = open(name, O_RDWR | O_NOCTTY);
    printf("slave opens: %s, isatty: %d\n", s >= 0 ? "yes" : "no", isatty(s));
    char *tn = ttyname(s);
    printf("ttyname is the slave: %s\n", tn && strcmp(tn, name) == 0 ? "yes" : "no");
    struct stat st;
    fstat(s, &st);
    printf("slave is a character device: %s\n", S_ISCHR(st.st_mode) ? "yes" : "no");
    printf("tcgetpgrp on the master (no session yet): %d\n", (int)tcgetpgrp(m));

    /* The slave echoes and buffers a line; the master reads the echo. */
    write(m, "abc\n", 4);
    printf("echo: %s\n", read_until(m, "abc\r\n") ? "abc" : "missing");
    char buf[16];
    ssize_t n = read(s, buf, sizeof buf);
    printf("slave read %zd bytes: %.*s", n, (int)n, buf);
    forget();
    write(s, "out\n", 4);
    printf("slave output through ONLCR: %s\n", read_until(m, "out\r\n") ? "yes" : "no");
    forget();
    struct pollfd p = {.fd = m, .events = POLLIN};
    printf("master poll with nothing to read: %d\n", poll(&p, 1, 0));

    struct winsize ws = {.ws_row = 30, .ws_col = 100};
    ioctl(m, TIOCSWINSZ, &ws);
    pid_t c = fork();
    if (c == 0) {
        close(m);
        child(name);
    }
    printf("child on the slave: %s\n", read_until(m, "/dev/tty opens: yes") ? "yes" : "no");
    char *fg = strstr(out, "foreground");
    printf("  %.*s\n", fg ? (int)strcspn(fg, "\r\n") : 1, fg ? fg : "?");
    /* Only the child holds the slave now. */
    close(s);
    forget();
    write(m, "hello pty\n", 10);
    printf("child line: %s\n", read_until(m, "child read [hello pty]") ? "yes" : "no");
    printf("waiting: %s\n", read_until(m, "waiting for signals") ? "yes" : "no");
    forget();
    ws.ws_row = 40;
    ws.ws_col = 120;
    ioctl(m, TIOCSWINSZ, &ws);
    printf("window size change seen: %s\n", read_until(m, "SIGWINCH: 40x120") ? "yes" : "no");
    forget();
    write(m, "\x03", 1);
    printf("^C: %s\n", read_until(m, "SIGINT interrupted the wait") ? "yes" : "no");
    printf("raw mode: %s\n", read_until(m, "raw\r\n") ? "yes" : "no");
    forget();
    write(m, "\x03", 1);
    printf("^C in raw mode is a byte: %s\n", read_until(m, "raw byte: 1 3") ? "yes" : "no");
    int status;
    waitpid(c, &status, 0);
    printf("child exited %d\n", WEXITSTATUS(status));
    forget();
    n = read(m, buf, sizeof buf);
    printf("master read after the slave closed: %s\n", n < 0 && errno == EIO ? "EIO" : "data");

    /* Closing the master hangs up the slave's session: SIGHUP. */
    int m2 = posix_openpt(O_RDWR | O_NOCTTY);
    grantpt(m2);
    unlockpt(m2);
    ptsname_r(m2, name, sizeof name);
    c = fork();
    if (c == 0) {
        close(m2);
        setsid();
        int s2 = open(name, O_RDWR);
        write(s2, "ready\n", 6);
        char ch;
        read(s2, &ch, 1);
        /* The hangup wakes the read and sends SIGHUP; Linux may do the
         * first before the second, so wait for the signal. */
        for (;;) pause();
    }
    read_until(m2, "ready");
    close(m2);
    waitpid(c, &status, 0);
    printf("after the master closed: %s\n",
           WIFSIGNALED(status) ? strsignal(WTERMSIG(status)) : "exited");
    vmin_vtime();
    printf("pty done\n");
    return 0;
}
