/* epoll and eventfd: readiness, blocking waits, edge and one-shot modes,
 * error cases. Run under Selkie and natively; the outputs must match. */
#define _GNU_SOURCE
#include <errno.h>
#include <fcntl.h>
#include <poll.h>
#include <signal.h>
#include <stdint.h>
#include <stdio.h>
#include <string.h>
#include <sys/epoll.h>
#include <sys/eventfd.h>
#include <sys/stat.h>
#include <sys/time.h>
#include <sys/wait.h>
#include <time.h>
#include <unistd.h>

static void check(const char *what, int ok) { printf("%s: %s\n", what, ok ? "ok" : "FAILED"); }

static const char *err(int r) {
    if (r >= 0) return "ok";
    switch (errno) {
    case EINVAL: return "EINVAL";
    case EBADF: return "EBADF";
    case EEXIST: return "EEXIST";
    case ENOENT: return "ENOENT";
    case EPERM: return "EPERM";
    case ELOOP: return "ELOOP";
    case EAGAIN: return "EAGAIN";
    case EINTR: return "EINTR";
    case EFAULT: return "EFAULT";
    default: return "other";
    }
}

static long ms_since(struct timespec *t0) {
    struct timespec t;
    clock_gettime(CLOCK_MONOTONIC, &t);
    return (t.tv_sec - t0->tv_sec) * 1000 + (t.tv_nsec - t0->tv_nsec) / 1000000;
}

static int add(int ep, int fd, uint32_t events, uint64_t data) {
    struct epoll_event ev = {.events = events, .data.u64 = data};
    return epoll_ctl(ep, EPOLL_CTL_ADD, fd, &ev);
}

static void on_usr1(int s) { (void)s; }

static void eventfds(void) {
    int e = eventfd(3, EFD_NONBLOCK);
    uint64_t v = 0;
    check("eventfd read returns the count", read(e, &v, 8) == 8 && v == 3);
    printf("eventfd empty read: %s\n", err(read(e, &v, 8)));
    printf("eventfd short read: %s\n", err(read(e, &v, 4)));
    v = UINT64_MAX;
    printf("eventfd write of all ones: %s\n", err(write(e, &v, 8)));
    v = 0xfffffffffffffffeULL;
    check("eventfd write up to the maximum", write(e, &v, 8) == 8);
    v = 1;
    printf("eventfd write past the maximum: %s\n", err(write(e, &v, 8)));
    struct pollfd p = {.fd = e, .events = POLLIN | POLLOUT};
    int pr = poll(&p, 1, 0);
    printf("eventfd full: poll=%d revents=%#x\n", pr, p.revents);
    read(e, &v, 8);
    p.revents = 0;
    pr = poll(&p, 1, 0);
    printf("eventfd empty: poll=%d revents=%#x\n", pr, p.revents);
    close(e);
    printf("eventfd bad flags: %s\n", err(eventfd(0, 0x4000000)));

    e = eventfd(2, EFD_SEMAPHORE | EFD_NONBLOCK);
    uint64_t a = 0, b = 0;
    read(e, &a, 8);
    read(e, &b, 8);
    printf("semaphore reads: %llu %llu then %s\n", (unsigned long long)a, (unsigned long long)b,
           err(read(e, &v, 8)));
    close(e);

    /* A blocking read waits for another process's write. */
    e = eventfd(0, 0);
    struct timespec t0;
    clock_gettime(CLOCK_MONOTONIC, &t0);
    pid_t c = fork();
    if (c == 0) {
        usleep(50000);
        uint64_t one = 7;
        write(e, &one, 8);
        _exit(0);
    }
    v = 0;
    int n = read(e, &v, 8);
    long waited = ms_since(&t0);
    waitpid(c, 0, 0);
    printf("blocking eventfd read: %d value=%llu waited >= 40 ms: %s\n", n, (unsigned long long)v,
           waited >= 40 ? "yes" : "no");
    close(e);
}

static void errors(void) {
    printf("epoll_create1 bad flags: %s\n", err(epoll_create1(1)));
    printf("epoll_create(0): %s\n", err(epoll_create(0)));
    int ep = epoll_create1(EPOLL_CLOEXEC);
    check("epoll_create1", ep >= 0);
    check("EPOLL_CLOEXEC sets FD_CLOEXEC", fcntl(ep, F_GETFD) == FD_CLOEXEC);
    int pfd[2];
    pipe(pfd);
    printf("add: %s\n", err(add(ep, pfd[0], EPOLLIN, 1)));
    printf("add again: %s\n", err(add(ep, pfd[0], EPOLLIN, 1)));
    struct epoll_event ev = {.events = EPOLLIN};
    printf("mod missing: %s\n", err(epoll_ctl(ep, EPOLL_CTL_MOD, pfd[1], &ev)));
    printf("del missing: %s\n", err(epoll_ctl(ep, EPOLL_CTL_DEL, pfd[1], 0)));
    printf("add bad fd: %s\n", err(add(ep, 999, EPOLLIN, 0)));
    printf("bad epoll fd: %s\n", err(add(999, pfd[0], EPOLLIN, 0)));
    printf("not an epoll fd: %s\n", err(add(pfd[1], pfd[0], EPOLLIN, 0)));
    printf("add itself: %s\n", err(add(ep, ep, EPOLLIN, 0)));
    printf("bad op: %s\n", err(epoll_ctl(ep, 99, pfd[0], &ev)));
    int f = open("/tmp/epoll-regular", O_CREAT | O_RDWR, 0644);
    printf("add a regular file: %s\n", err(add(ep, f, EPOLLIN, 0)));
    close(f);
    unlink("/tmp/epoll-regular");
    int ep2 = epoll_create1(0);
    printf("nest: %s\n", err(add(ep2, ep, EPOLLIN, 0)));
    printf("nest back (a loop): %s\n", err(add(ep, ep2, EPOLLIN, 0)));
    struct epoll_event out[4];
    printf("maxevents 0: %s\n", err(epoll_wait(ep, out, 0, 0)));
    printf("events at a kernel address: %s\n", err(epoll_wait(ep, (void *)0xffff800000000000ULL, 4, 0)));
    /* A user address is only checked when events are copied out. */
    printf("events at an unmapped address, nothing ready: %s\n", err(epoll_wait(ep, (void *)8, 4, 0)));
    printf("wait on a non-epoll fd: %s\n", err(epoll_wait(pfd[0], out, 4, 0)));
    printf("del: %s\n", err(epoll_ctl(ep, EPOLL_CTL_DEL, pfd[0], 0)));
    close(ep2);
    close(ep);
    close(pfd[0]);
    close(pfd[1]);
}

static void readiness(void) {
    int ep = epoll_create1(0);
    int a[2], b[2];
    pipe(a);
    pipe(b);
    add(ep, a[0], EPOLLIN, 100);
    add(ep, b[1], EPOLLOUT, 200);
    struct epoll_event out[8];
    int n = epoll_wait(ep, out, 8, 0);
    printf("writable pipe end: n=%d data=%llu events=%s\n", n, n > 0 ? (unsigned long long)out[0].data.u64 : 0,
           n > 0 && out[0].events == EPOLLOUT ? "EPOLLOUT" : "other");
    epoll_ctl(ep, EPOLL_CTL_DEL, b[1], 0);
    struct timespec t0;
    clock_gettime(CLOCK_MONOTONIC, &t0);
    n = epoll_wait(ep, out, 8, 60);
    long waited = ms_since(&t0);
    printf("timeout: n=%d waited >= 50 ms: %s\n", n, waited >= 50 ? "yes" : "no");

    /* A child's write wakes the waiting parent. */
    clock_gettime(CLOCK_MONOTONIC, &t0);
    pid_t c = fork();
    if (c == 0) {
        usleep(50000);
        write(a[1], "x", 1);
        _exit(0);
    }
    n = epoll_wait(ep, out, 8, 5000);
    waited = ms_since(&t0);
    waitpid(c, 0, 0);
    printf("woken by a write: n=%d data=%llu EPOLLIN=%d waited >= 40 ms: %s\n", n,
           (unsigned long long)out[0].data.u64, !!(out[0].events & EPOLLIN), waited >= 40 ? "yes" : "no");
    /* Level-triggered: reported again while data waits. */
    printf("level-triggered again: %d\n", epoll_wait(ep, out, 8, 0));
    char ch;
    read(a[0], &ch, 1);
    printf("after reading it all: %d\n", epoll_wait(ep, out, 8, 0));

    /* Edge-triggered: once per new write. */
    struct epoll_event ev = {.events = EPOLLIN | EPOLLET, .data.u64 = 101};
    epoll_ctl(ep, EPOLL_CTL_MOD, a[0], &ev);
    write(a[1], "y", 1);
    n = epoll_wait(ep, out, 8, 0);
    int n2 = epoll_wait(ep, out, 8, 0);
    write(a[1], "z", 1);
    int n3 = epoll_wait(ep, out, 8, 0);
    printf("edge-triggered: %d then %d, after another write %d\n", n, n2, n3);
    char buf[8];
    read(a[0], buf, sizeof buf);

    /* One-shot: silent after one report until re-armed. */
    ev.events = EPOLLIN | EPOLLONESHOT;
    epoll_ctl(ep, EPOLL_CTL_MOD, a[0], &ev);
    write(a[1], "w", 1);
    n = epoll_wait(ep, out, 8, 0);
    n2 = epoll_wait(ep, out, 8, 0);
    epoll_ctl(ep, EPOLL_CTL_MOD, a[0], &ev);
    n3 = epoll_wait(ep, out, 8, 0);
    printf("one-shot: %d then %d, re-armed %d\n", n, n2, n3);
    read(a[0], buf, sizeof buf);

    /* Hang-up: the write end closed. */
    ev.events = EPOLLIN;
    epoll_ctl(ep, EPOLL_CTL_MOD, a[0], &ev);
    close(a[1]);
    n = epoll_wait(ep, out, 8, 0);
    printf("writer closed: n=%d EPOLLHUP=%d EPOLLIN=%d\n", n, !!(out[0].events & EPOLLHUP),
           !!(out[0].events & EPOLLIN));
    /* Closing the only descriptor removes the item. */
    close(a[0]);
    printf("after closing the watched fd: %d\n", epoll_wait(ep, out, 8, 0));
    close(b[0]);
    close(b[1]);

    /* maxevents smaller than the ready set: every item gets its turn. */
    int p[3][2];
    for (int i = 0; i < 3; i++) {
        pipe(p[i]);
        write(p[i][1], "r", 1);
        add(ep, p[i][0], EPOLLIN, i);
    }
    unsigned seen = 0;
    for (int i = 0; i < 3; i++) {
        if (epoll_wait(ep, out, 1, 0) == 1) seen |= 1u << out[0].data.u64;
    }
    printf("three ready, maxevents 1, three calls: all seen: %s\n", seen == 7 ? "yes" : "no");

    /* An epoll fd is readable when one of its items is ready. */
    int outer = epoll_create1(0);
    add(outer, ep, EPOLLIN, 9);
    n = epoll_wait(outer, out, 8, 0);
    struct pollfd pf = {.fd = ep, .events = POLLIN};
    printf("nested: n=%d data=%llu, poll on the inner: %d\n", n, (unsigned long long)out[0].data.u64,
           poll(&pf, 1, 0));
    for (int i = 0; i < 3; i++) {
        close(p[i][0]);
        close(p[i][1]);
    }
    printf("nested, nothing ready: %d\n", epoll_wait(outer, out, 8, 0));
    close(outer);

    /* eventfd through epoll. */
    int e = eventfd(0, EFD_NONBLOCK);
    add(ep, e, EPOLLIN, 55);
    printf("eventfd idle: %d\n", epoll_wait(ep, out, 8, 0));
    uint64_t one = 1;
    write(e, &one, 8);
    n = epoll_wait(ep, out, 8, 0);
    printf("eventfd signalled: n=%d data=%llu\n", n, (unsigned long long)out[0].data.u64);
    close(e);
    close(ep);
}

static void signals(void) {
    struct sigaction sa = {.sa_handler = on_usr1, .sa_flags = SA_RESTART};
    sigaction(SIGUSR1, &sa, 0);
    int ep = epoll_create1(0);
    int a[2];
    pipe(a);
    add(ep, a[0], EPOLLIN, 0);
    pid_t parent = getpid();
    pid_t c = fork();
    if (c == 0) {
        usleep(50000);
        kill(parent, SIGUSR1);
        _exit(0);
    }
    struct epoll_event out[2];
    int n = epoll_wait(ep, out, 2, 5000);
    printf("signal during epoll_wait (SA_RESTART): %s\n", err(n));
    waitpid(c, 0, 0);

    /* epoll_pwait: the signal is blocked outside the call, let in during it. */
    sigset_t block, none;
    sigemptyset(&block);
    sigaddset(&block, SIGUSR1);
    sigemptyset(&none);
    sigprocmask(SIG_BLOCK, &block, 0);
    c = fork();
    if (c == 0) {
        usleep(50000);
        kill(parent, SIGUSR1);
        _exit(0);
    }
    n = epoll_pwait(ep, out, 2, 5000, &none);
    printf("epoll_pwait lets the blocked signal in: %s\n", err(n));
    sigset_t now;
    sigprocmask(SIG_BLOCK, 0, &now);
    printf("mask restored after epoll_pwait: %s\n", sigismember(&now, SIGUSR1) ? "yes" : "no");
    waitpid(c, 0, 0);
    close(a[0]);
    close(a[1]);
    close(ep);
}

int main(void) {
    setvbuf(stdout, 0, _IONBF, 0);
    eventfds();
    errors();
    readiness();
    signals();
    printf("epoll done\n");
    return 0;
}
