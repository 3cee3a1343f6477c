/* AF_UNIX sockets: stream, datagram and seqpacket; socketpair; path and
 * abstract names, autobind; listen backlogs; SCM_RIGHTS and
 * SCM_CREDENTIALS; shutdown, SIGPIPE, non-blocking calls, timeouts;
 * poll, select and epoll readiness; fork and exec; socket options; the
 * errors Linux gives. One line per check; run under Selkie and natively,
 * the outputs must match (nothing printed depends on pids, inode numbers
 * or times). */
#define _GNU_SOURCE
#include <errno.h>
#include <fcntl.h>
#include <poll.h>
#include <signal.h>
#include <stddef.h>
#include <stdint.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/epoll.h>
#include <sys/file.h>
#include <sys/ioctl.h>
#include <sys/select.h>
#include <sys/socket.h>
#include <sys/stat.h>
#include <sys/syscall.h>
#include <sys/time.h>
#include <sys/uio.h>
#include <sys/un.h>
#include <sys/wait.h>
#include <time.h>
#include <unistd.h>

static const char *en(int e) {
    switch (e) {
    case 0: return "0";
    case EAGAIN: return "EAGAIN";
    case EPIPE: return "EPIPE";
    case EINVAL: return "EINVAL";
    case ENOTCONN: return "ENOTCONN";
    case ECONNREFUSED: return "ECONNREFUSED";
    case ECONNRESET: return "ECONNRESET";
    case EISCONN: return "EISCONN";
    case EOPNOTSUPP: return "EOPNOTSUPP";
    case EPERM: return "EPERM";
    case ENOENT: return "ENOENT";
    case EMSGSIZE: return "EMSGSIZE";
    case EPROTOTYPE: return "EPROTOTYPE";
    case EADDRINUSE: return "EADDRINUSE";
    case EBADF: return "EBADF";
    case EFAULT: return "EFAULT";
    case ENOTSOCK: return "ENOTSOCK";
    case EAFNOSUPPORT: return "EAFNOSUPPORT";
    case EPROTONOSUPPORT: return "EPROTONOSUPPORT";
    case ESOCKTNOSUPPORT: return "ESOCKTNOSUPPORT";
    case ENOPROTOOPT: return "ENOPROTOOPT";
    case EDOM: return "EDOM";
    case ENOTDIR: return "ENOTDIR";
    case EINTR: return "EINTR";
    case ENXIO: return "ENXIO";
    case ESPIPE: return "ESPIPE";
    case ENOTTY: return "ENOTTY";
    case ESRCH: return "ESRCH";
    case EMFILE: return "EMFILE";
    default: {
        static char b[16];
        snprintf(b, sizeof b, "E%d", e);
        return b;
    }
    }
}

/* A call's result: its value, or the errno's name. */
static const char *res(long r) {
    static char b[4][32];
    static int i;
    i = (i + 1) % 4;
    if (r < 0) return en(errno);
    snprintf(b[i], sizeof b[i], "%ld", r);
    return b[i];
}

/* A pointer the kernel refuses (opaque to the compiler). */
static void *volatile bad = (void *)8;

static const char *yes(int ok) { return ok ? "yes" : "no"; }

/* "label: result" for a call made now; MORE appends " result" (one call
 * per printf, so that the calls happen in the order written). */
#define SHOW(label, call)                           \
    do {                                            \
        long r_ = (long)(call);                     \
        printf("%s: %s\n", label, res(r_));         \
    } while (0)
#define FIRST(label, call)                          \
    do {                                            \
        long r_ = (long)(call);                     \
        printf("%s: %s", label, res(r_));           \
    } while (0)
#define MORE(sep, call)                             \
    do {                                            \
        long r_ = (long)(call);                     \
        printf("%s%s", sep, res(r_));               \
    } while (0)

static long ms_since(struct timespec *t0) {
    struct timespec t;
    clock_gettime(CLOCK_MONOTONIC, &t);
    return (t.tv_sec - t0->tv_sec) * 1000 + (t.tv_nsec - t0->tv_nsec) / 1000000;
}

static void now(struct timespec *t) { clock_gettime(CLOCK_MONOTONIC, t); }

static void msleep(int ms) { usleep(ms * 1000); }

static int sigpipes;
static void on_pipe(int s) { (void)s; sigpipes++; }
static void on_usr1(int s) { (void)s; }

/* A path or abstract address; returns its length. */
static socklen_t path_addr(struct sockaddr_un *a, const char *path) {
    memset(a, 0, sizeof *a);
    a->sun_family = AF_UNIX;
    strcpy(a->sun_path, path);
    return offsetof(struct sockaddr_un, sun_path) + strlen(path) + 1;
}

static char abstract_base[64];
/* The directory path names live in (per run: the host's /tmp is shared). */
static char workdir[64];

static socklen_t abstract_addr(struct sockaddr_un *a, const char *name) {
    memset(a, 0, sizeof *a);
    a->sun_family = AF_UNIX;
    /* Unique per run (the host's abstract namespace is shared), same length. */
    int n = snprintf(a->sun_path + 1, sizeof a->sun_path - 1, "%s-%s", abstract_base, name);
    return offsetof(struct sockaddr_un, sun_path) + 1 + n;
}

static int poll1(int fd, short events) {
    struct pollfd p = {.fd = fd, .events = events};
    int r = poll(&p, 1, 0);
    return r < 0 ? -1 : p.revents;
}

static int send_fds(int sock, const int *fds, int n, const void *data, size_t len) {
    char ctl[CMSG_SPACE(sizeof(int) * 256)];
    memset(ctl, 0, sizeof ctl);
    struct iovec iov = {.iov_base = (void *)data, .iov_len = len};
    struct msghdr m = {.msg_iov = &iov, .msg_iovlen = 1, .msg_control = ctl,
                       .msg_controllen = CMSG_SPACE(sizeof(int) * n)};
    struct cmsghdr *c = CMSG_FIRSTHDR(&m);
    c->cmsg_level = SOL_SOCKET;
    c->cmsg_type = SCM_RIGHTS;
    c->cmsg_len = CMSG_LEN(sizeof(int) * n);
    memcpy(CMSG_DATA(c), fds, sizeof(int) * n);
    return sendmsg(sock, &m, 0);
}

/* Receives descriptors (a control buffer of ctllen bytes) into fds; returns the count or -1,
 * with the message's flags in *flags. */
static int recv_fds(int sock, int *fds, size_t ctllen, int rflags, int *flags, char *data, size_t len) {
    char ctl[CMSG_SPACE(sizeof(int) * 256)];
    memset(ctl, 0, sizeof ctl);
    struct iovec iov = {.iov_base = data, .iov_len = len};
    struct msghdr m = {.msg_iov = &iov, .msg_iovlen = 1, .msg_control = ctllen ? ctl : NULL, .msg_controllen = ctllen};
    if (recvmsg(sock, &m, rflags) < 0) return -1;
    *flags = m.msg_flags;
    int n = 0;
    for (struct cmsghdr *c = CMSG_FIRSTHDR(&m); c; c = CMSG_NXTHDR(&m, c)) {
        if (c->cmsg_level == SOL_SOCKET && c->cmsg_type == SCM_RIGHTS) {
            int k = (c->cmsg_len - CMSG_LEN(0)) / sizeof(int);
            memcpy(fds + n, CMSG_DATA(c), k * sizeof(int));
            n += k;
        }
    }
    return n;
}


static int intopt(int s, int name) {
    int v = -1;
    socklen_t l = sizeof v;
    getsockopt(s, SOL_SOCKET, name, &v, &l);
    return v;
}

/* Linux collects unreachable sockets in the background, started by a
 * close while descriptions are in flight: close sockets until `fd` (a
 * read end whose write end was in flight) is readable. */
static void await_collection(int fd) {
    for (int i = 0; i < 100; i++) {
        close(socket(AF_UNIX, SOCK_DGRAM, 0));
        if (poll1(fd, POLLIN) & (POLLIN | POLLHUP)) return;
        msleep(20);
    }
}

static void creation_errors(void) {
    SHOW("unknown family", socket(12345, SOCK_STREAM, 0));
    SHOW("family past AF_MAX", socket(46, SOCK_STREAM, 0));
    SHOW("AF_UNIX, protocol 7", socket(AF_UNIX, SOCK_STREAM, 7));
    SHOW("AF_UNIX, SOCK_RDM", socket(AF_UNIX, SOCK_RDM, 0));
    SHOW("AF_UNIX, type 77", socket(AF_UNIX, 77, 0));
    SHOW("AF_UNIX, an unknown type flag", socket(AF_UNIX, SOCK_STREAM | 0x100, 0));
    int s = socket(AF_UNIX, SOCK_RAW, PF_UNIX);
    printf("SOCK_RAW is a datagram socket: %s, SO_PROTOCOL as given: %d\n", yes(intopt(s, SO_TYPE) == SOCK_DGRAM), intopt(s, SO_PROTOCOL));
    close(s);
    int p[2], v;
    socklen_t l = sizeof v;
    pipe(p);
    SHOW("getsockopt on a pipe", getsockopt(p[0], SOL_SOCKET, SO_TYPE, &v, &l));
    SHOW("bind on a pipe", bind(p[0], NULL, 0));
    SHOW("listen on a bad descriptor", listen(99, 1));
    close(p[0]);
    close(p[1]);
    SHOW("socketpair into a bad pointer", socketpair(AF_UNIX, SOCK_STREAM, 0, bad));
    SHOW("socketpair of another family", socketpair(12345, SOCK_STREAM, 0, p));
}

static void stream_pair(void) {
    int sv[2];
    SHOW("socketpair", socketpair(AF_UNIX, SOCK_STREAM | SOCK_NONBLOCK | SOCK_CLOEXEC, 0, sv));
    printf("O_NONBLOCK: %s, FD_CLOEXEC: %s, O_RDWR: %s\n", yes(fcntl(sv[0], F_GETFL) & O_NONBLOCK),
           yes(fcntl(sv[0], F_GETFD) & FD_CLOEXEC), yes((fcntl(sv[0], F_GETFL) & O_ACCMODE) == O_RDWR));
    printf("SO_TYPE: %d, SO_DOMAIN: %d, SO_ACCEPTCONN: %d, SO_ERROR: %d\n", intopt(sv[0], SO_TYPE), intopt(sv[0], SO_DOMAIN),
           intopt(sv[0], SO_ACCEPTCONN), intopt(sv[0], SO_ERROR));
    struct stat st;
    fstat(sv[0], &st);
    printf("fstat: a socket: %s, mode %o, size %ld\n", yes(S_ISSOCK(st.st_mode)), st.st_mode & 07777, (long)st.st_size);
    char link[64], path[64], want[64];
    snprintf(path, sizeof path, "/proc/self/fd/%d", sv[0]);
    ssize_t n = readlink(path, link, sizeof link - 1);
    link[n > 0 ? n : 0] = 0;
    snprintf(want, sizeof want, "socket:[%lu]", (unsigned long)st.st_ino);
    printf("/proc/self/fd link is socket:[inode]: %s\n", yes(strcmp(link, want) == 0));
    SHOW("open /proc/self/fd/N", open(path, O_RDWR));
    SHOW("lseek", lseek(sv[0], 0, SEEK_SET));
    char buf[256];
    SHOW("pread", pread(sv[0], buf, 1, 0));
    errno = 0;
    int tty = isatty(sv[0]);
    printf("isatty: %d %s\n", tty, en(errno));
    SHOW("read of nothing", read(sv[1], buf, sizeof buf));
    SHOW("read of 0 bytes", read(sv[1], buf, 0));
    SHOW("write", write(sv[0], "hello", 5));
    struct iovec iov[2] = {{" wor", 4}, {"ld", 2}};
    SHOW("writev", writev(sv[0], iov, 2));
    int v = 0;
    ioctl(sv[1], FIONREAD, &v);
    printf("FIONREAD: %d\n", v);
    memset(buf, 0, sizeof buf);
    FIRST("MSG_PEEK", recv(sv[1], buf, 5, MSG_PEEK));
    printf(" '%s'\n", buf);
    char a[4] = {0}, b[16] = {0};
    struct iovec rv[2] = {{a, 3}, {b, 15}};
    FIRST("readv", readv(sv[1], rv, 2));
    printf(" '%s' '%s'\n", a, b);
    SHOW("recv, empty, MSG_DONTWAIT", recv(sv[1], buf, 1, MSG_DONTWAIT));
    int on = 0;
    ioctl(sv[1], FIONBIO, &on);
    printf("FIONBIO off: O_NONBLOCK %s\n", yes(fcntl(sv[1], F_GETFL) & O_NONBLOCK));
    SHOW("recv with MSG_DONTWAIT on a blocking socket", recv(sv[1], buf, 1, MSG_DONTWAIT));
    write(sv[0], "x", 1);
    struct sockaddr_un from;
    socklen_t fl = sizeof from;
    FIRST("recvfrom of a socketpair", recvfrom(sv[1], buf, 8, 0, (struct sockaddr *)&from, &fl));
    printf(", address length %d\n", (int)fl);
    struct sockaddr_un me;
    socklen_t ml = sizeof me;
    FIRST("getsockname", getsockname(sv[0], (struct sockaddr *)&me, &ml));
    printf(", length %d, family %d\n", (int)ml, me.sun_family);
    ml = sizeof me;
    FIRST("getpeername", getpeername(sv[0], (struct sockaddr *)&me, &ml));
    printf(", length %d\n", (int)ml);
    struct ucred cr;
    socklen_t cl = sizeof cr;
    getsockopt(sv[0], SOL_SOCKET, SO_PEERCRED, &cr, &cl);
    printf("SO_PEERCRED: pid is mine: %s, uid %d, gid %d, length %d\n", yes(cr.pid == getpid()), cr.uid, cr.gid, (int)cl);
    cl = 4;
    getsockopt(sv[0], SOL_SOCKET, SO_PEERCRED, &cr, &cl);
    printf("SO_PEERCRED into 4 bytes: length %d\n", (int)cl);
    SHOW("sendto with an address on a connected stream", sendto(sv[0], "x", 1, 0, (struct sockaddr *)&me, sizeof(sa_family_t) + 2));
    SHOW("send of 0 bytes", send(sv[0], "", 0, 0));
    /* A close with data unread here: the peer gets ECONNRESET, then EOF. */
    write(sv[0], "abc", 3);
    write(sv[1], "zz", 2);
    close(sv[0]);
    FIRST("after the peer closed with data unread", read(sv[1], buf, sizeof buf));
    MORE(" ", read(sv[1], buf, sizeof buf));
    MORE(" ", read(sv[1], buf, sizeof buf));
    printf("\n");
    printf("poll after the peer closed: %#x\n", poll1(sv[1], POLLIN | POLLOUT | POLLRDHUP));
    close(sv[1]);
}

static void shutdown_and_sigpipe(void) {
    int sv[2];
    socketpair(AF_UNIX, SOCK_STREAM, 0, sv);
    printf("fresh pair poll: %#x\n", poll1(sv[0], POLLIN | POLLOUT | POLLRDHUP));
    SHOW("shutdown how 3", shutdown(sv[0], 3));
    SHOW("shutdown how -1", shutdown(sv[0], -1));
    write(sv[0], "last", 4);
    SHOW("SHUT_WR", shutdown(sv[0], SHUT_WR));
    printf("poll: mine %#x", poll1(sv[0], POLLIN | POLLOUT | POLLRDHUP));
    printf(", the peer's %#x\n", poll1(sv[1], POLLIN | POLLOUT | POLLRDHUP));
    char buf[16];
    FIRST("peer reads", read(sv[1], buf, sizeof buf));
    MORE(" then ", read(sv[1], buf, sizeof buf));
    printf("\n");
    signal(SIGPIPE, on_pipe);
    sigpipes = 0;
    FIRST("write after SHUT_WR", write(sv[0], "x", 1));
    printf(", SIGPIPE %d\n", sigpipes);
    FIRST("send MSG_NOSIGNAL", send(sv[0], "x", 1, MSG_NOSIGNAL));
    printf(", SIGPIPE %d\n", sigpipes);
    SHOW("the peer writes on", write(sv[1], "back", 4));
    FIRST("SHUT_RD", shutdown(sv[0], SHUT_RD));
    printf(", poll %#x\n", poll1(sv[0], POLLIN | POLLOUT | POLLRDHUP));
    SHOW("read after SHUT_RD, data queued", read(sv[0], buf, sizeof buf));
    SHOW("read after SHUT_RD, nothing queued", read(sv[0], buf, sizeof buf));
    FIRST("the peer's write after SHUT_RD", write(sv[1], "x", 1));
    printf(", SIGPIPE %d\n", sigpipes);
    printf("peer poll: %#x\n", poll1(sv[1], POLLIN | POLLOUT | POLLRDHUP));
    close(sv[0]);
    close(sv[1]);
    /* SIGPIPE's default action kills. */
    socketpair(AF_UNIX, SOCK_STREAM, 0, sv);
    close(sv[1]);
    pid_t c = fork();
    if (c == 0) {
        signal(SIGPIPE, SIG_DFL);
        write(sv[0], "x", 1);
        _exit(0);
    }
    int st;
    waitpid(c, &st, 0);
    printf("writer to a closed peer: killed by signal %d\n", WIFSIGNALED(st) ? WTERMSIG(st) : 0);
    close(sv[0]);
    signal(SIGPIPE, SIG_DFL);
}

static void stream_buffers(void) {
    int sv[2];
    socketpair(AF_UNIX, SOCK_STREAM | SOCK_NONBLOCK, 0, sv);
    static char big[1 << 20];
    long total = 0, w;
    while ((w = write(sv[0], big, sizeof big)) > 0) total += w;
    printf("non-blocking writes until %s: more than 100000 bytes: %s\n", en(errno), yes(total > 100000));
    printf("full: POLLOUT %s\n", yes(poll1(sv[0], POLLOUT) & POLLOUT));
    int v;
    ioctl(sv[1], FIONREAD, &v);
    printf("FIONREAD is what went in: %s\n", yes(v == total));
    long got = 0, r;
    while ((r = read(sv[1], big, sizeof big)) > 0) got += r;
    printf("read back: %s, then %s\n", yes(got == total), en(errno));
    printf("drained: POLLOUT %s\n", yes(poll1(sv[0], POLLOUT) & POLLOUT));
    close(sv[0]);
    close(sv[1]);
    /* A blocking write of 1 MiB against a reader that takes it slowly. */
    socketpair(AF_UNIX, SOCK_STREAM, 0, sv);
    pid_t c = fork();
    if (c == 0) {
        close(sv[0]);
        for (size_t i = 0; i < sizeof big; i++) big[i] = (char)(i * 7);
        long n = write(sv[1], big, sizeof big);
        _exit(n == (long)sizeof big ? 0 : 1);
    }
    close(sv[1]);
    msleep(50);
    unsigned sum = 0;
    got = 0;
    static char in[4096];
    while ((r = read(sv[0], in, sizeof in)) > 0) {
        for (long i = 0; i < r; i++) sum += (unsigned char)in[i] ^ (unsigned char)(got + i);
        got += r;
    }
    int st;
    waitpid(c, &st, 0);
    unsigned want = 0;
    for (long i = 0; i < (long)sizeof big; i++) want += (unsigned char)(char)(i * 7) ^ (unsigned char)i;
    printf("1 MiB through a blocking write: all bytes %s, intact: %s, the writer's write returned it all: %s\n", yes(got == (long)sizeof big),
           yes(sum == want), yes(WIFEXITED(st) && WEXITSTATUS(st) == 0));
    close(sv[0]);
    /* MSG_WAITALL waits for every byte; SO_RCVLOWAT for that many. */
    socketpair(AF_UNIX, SOCK_STREAM, 0, sv);
    c = fork();
    if (c == 0) {
        for (int i = 0; i < 3; i++) {
            msleep(30);
            write(sv[1], "0123456789", 10);
        }
        _exit(0);
    }
    char buf[64];
    struct timespec t0;
    now(&t0);
    FIRST("MSG_WAITALL of 30", recv(sv[0], buf, 30, MSG_WAITALL));
    printf(", waited >= 60 ms: %s\n", yes(ms_since(&t0) >= 60));
    waitpid(c, &st, 0);
    int low = 15;
    SHOW("SO_RCVLOWAT 15", setsockopt(sv[0], SOL_SOCKET, SO_RCVLOWAT, &low, sizeof low));
    c = fork();
    if (c == 0) {
        for (int i = 0; i < 2; i++) {
            msleep(30);
            write(sv[1], "0123456789", 10);
        }
        _exit(0);
    }
    now(&t0);
    FIRST("read with SO_RCVLOWAT 15", read(sv[0], buf, sizeof buf));
    printf(", waited >= 50 ms: %s\n", yes(ms_since(&t0) >= 50));
    waitpid(c, &st, 0);
    close(sv[0]);
    close(sv[1]);
}

static void timeouts(void) {
    int sv[2];
    socketpair(AF_UNIX, SOCK_STREAM, 0, sv);
    struct timeval tv = {0, 100000};
    SHOW("SO_RCVTIMEO", setsockopt(sv[0], SOL_SOCKET, SO_RCVTIMEO, &tv, sizeof tv));
    struct timeval back = {0};
    socklen_t l = sizeof back;
    getsockopt(sv[0], SOL_SOCKET, SO_RCVTIMEO, &back, &l);
    printf("read back: %ld.%06ld, length %d\n", (long)back.tv_sec, (long)back.tv_usec, (int)l);
    struct timespec t0;
    char buf[16];
    now(&t0);
    FIRST("read with a timeout", read(sv[0], buf, sizeof buf));
    printf(", waited >= 90 ms: %s\n", yes(ms_since(&t0) >= 90));
    SHOW("accept on a connected socket", accept(sv[0], NULL, NULL));
    struct timeval badtv = {0, 1000000};
    SHOW("a microsecond count of 1000000", setsockopt(sv[0], SOL_SOCKET, SO_RCVTIMEO, &badtv, sizeof badtv));
    SHOW("a short timeval", setsockopt(sv[0], SOL_SOCKET, SO_RCVTIMEO, &badtv, 8));
    /* A writer with a full buffer and SO_SNDTIMEO. */
    static char big[1 << 16];
    fcntl(sv[1], F_SETFL, O_NONBLOCK);
    while (write(sv[1], big, sizeof big) > 0) {}
    fcntl(sv[1], F_SETFL, 0);
    tv.tv_usec = 80000;
    setsockopt(sv[1], SOL_SOCKET, SO_SNDTIMEO, &tv, sizeof tv);
    now(&t0);
    FIRST("write to a full socket with SO_SNDTIMEO", write(sv[1], big, sizeof big));
    printf(", waited >= 70 ms: %s\n", yes(ms_since(&t0) >= 70));
    /* A timeout that runs out after part of a read: what came. */
    int p2[2];
    socketpair(AF_UNIX, SOCK_STREAM, 0, p2);
    tv.tv_usec = 100000;
    setsockopt(p2[0], SOL_SOCKET, SO_RCVTIMEO, &tv, sizeof tv);
    write(p2[1], "part", 4);
    SHOW("MSG_WAITALL running out of time", recv(p2[0], buf, 10, MSG_WAITALL));
    /* A negative time: no waiting at all. */
    struct timeval neg = {-1, 0};
    setsockopt(p2[0], SOL_SOCKET, SO_RCVTIMEO, &neg, sizeof neg);
    SHOW("a negative SO_RCVTIMEO", read(p2[0], buf, sizeof buf));
    /* A signal ends a wait with a timeout: EINTR even under SA_RESTART. */
    struct sigaction sa = {.sa_handler = on_usr1, .sa_flags = SA_RESTART};
    sigaction(SIGUSR1, &sa, NULL);
    tv.tv_sec = 5;
    setsockopt(p2[0], SOL_SOCKET, SO_RCVTIMEO, &tv, sizeof tv);
    pid_t c = fork();
    if (c == 0) {
        msleep(50);
        kill(getppid(), SIGUSR1);
        _exit(0);
    }
    SHOW("signal during a read with a timeout", read(p2[0], buf, sizeof buf));
    waitpid(c, NULL, 0);
    /* Without one, SA_RESTART restarts it. */
    tv.tv_sec = 0;
    tv.tv_usec = 0;
    setsockopt(p2[0], SOL_SOCKET, SO_RCVTIMEO, &tv, sizeof tv);
    c = fork();
    if (c == 0) {
        msleep(50);
        kill(getppid(), SIGUSR1);
        msleep(50);
        write(p2[1], "late", 4);
        _exit(0);
    }
    SHOW("signal during a read without a timeout, SA_RESTART", read(p2[0], buf, sizeof buf));
    waitpid(c, NULL, 0);
    sa.sa_flags = 0;
    sigaction(SIGUSR1, &sa, NULL);
    c = fork();
    if (c == 0) {
        msleep(50);
        kill(getppid(), SIGUSR1);
        _exit(0);
    }
    SHOW("and without SA_RESTART", read(p2[0], buf, sizeof buf));
    waitpid(c, NULL, 0);
    signal(SIGUSR1, SIG_DFL);
    close(p2[0]);
    close(p2[1]);
    close(sv[0]);
    close(sv[1]);
}

static void path_names(void) {
    const char *p = "unix-test.sock";
    struct sockaddr_un a, b;
    socklen_t al = path_addr(&a, p), bl;
    int srv = socket(AF_UNIX, SOCK_STREAM, 0);
    SHOW("listen before bind", listen(srv, 5));
    mode_t old = umask(022);
    SHOW("bind unix-test.sock", bind(srv, (struct sockaddr *)&a, al));
    umask(old);
    struct stat st;
    stat(p, &st);
    printf("the name is a socket: %s, mode %o\n", yes(S_ISSOCK(st.st_mode)), st.st_mode & 07777);
    SHOW("bind again", bind(srv, (struct sockaddr *)&a, al));
    bl = path_addr(&b, "unix-test.other");
    FIRST("bind again to another name", bind(srv, (struct sockaddr *)&b, bl));
    printf(", that name made: %s\n", yes(access("unix-test.other", F_OK) == 0));
    int other = socket(AF_UNIX, SOCK_STREAM, 0);
    SHOW("bind a second socket to the name", bind(other, (struct sockaddr *)&a, al));
    struct sockaddr_un got;
    socklen_t gl = sizeof got;
    getsockname(srv, (struct sockaddr *)&got, &gl);
    printf("getsockname: length %d, path %s\n", (int)gl, got.sun_path);
    gl = 10;
    memset(&got, 0, sizeof got);
    getsockname(srv, (struct sockaddr *)&got, &gl);
    printf("getsockname into 10 bytes: length %d, cut to '%s'\n", (int)gl, got.sun_path);
    int c = socket(AF_UNIX, SOCK_STREAM, 0);
    SHOW("connect before listen", connect(c, (struct sockaddr *)&a, al));
    SHOW("listen", listen(srv, 5));
    printf("SO_ACCEPTCONN %d, listener poll: %#x\n", intopt(srv, SO_ACCEPTCONN), poll1(srv, POLLIN | POLLOUT));
    SHOW("connect", connect(c, (struct sockaddr *)&a, al));
    printf("listener poll: %#x\n", poll1(srv, POLLIN | POLLOUT));
    SHOW("connect again", connect(c, (struct sockaddr *)&a, al));
    SHOW("listen on a connected socket", listen(c, 5));
    SHOW("client writes before accept", write(c, "early", 5));
    struct sockaddr_un peer;
    socklen_t pl = sizeof peer;
    int s = accept(srv, (struct sockaddr *)&peer, &pl);
    printf("accept: ok %s, peer address length %d\n", yes(s >= 0), (int)pl);
    char buf[32] = {0};
    FIRST("server reads", read(s, buf, sizeof buf - 1));
    printf(" '%s'\n", buf);
    gl = sizeof got;
    getsockname(s, (struct sockaddr *)&got, &gl);
    printf("accepted socket's name: %s (%d)\n", got.sun_path, (int)gl);
    gl = sizeof got;
    getpeername(c, (struct sockaddr *)&got, &gl);
    printf("client's peer: %s (%d)\n", got.sun_path, (int)gl);
    gl = sizeof got;
    FIRST("client's own name", getsockname(c, (struct sockaddr *)&got, &gl));
    printf(", length %d\n", (int)gl);
    gl = sizeof got;
    SHOW("listener's peer", getpeername(srv, (struct sockaddr *)&got, &gl));
    struct ucred cr;
    socklen_t cl = sizeof cr;
    getsockopt(c, SOL_SOCKET, SO_PEERCRED, &cr, &cl);
    printf("client's SO_PEERCRED is the listener's process: %s\n", yes(cr.pid == getpid()));
    SHOW("read on the listener", read(srv, buf, 1));
    SHOW("write on the listener", write(srv, buf, 1));
    SHOW("accept on a connected socket", accept(c, NULL, NULL));
    int d = socket(AF_UNIX, SOCK_DGRAM, 0);
    SHOW("datagram socket to a stream name", connect(d, (struct sockaddr *)&a, al));
    SHOW("listen on a datagram socket", listen(d, 1));
    SHOW("accept on a datagram socket", accept(d, NULL, NULL));
    close(d);
    int q = socket(AF_UNIX, SOCK_SEQPACKET, 0);
    SHOW("seqpacket socket to a stream name", connect(q, (struct sockaddr *)&a, al));
    close(q);
    int m = socket(AF_UNIX, SOCK_STREAM, 0);
    bl = path_addr(&b, "no-such-dir/x");
    SHOW("connect to a missing path", connect(m, (struct sockaddr *)&b, bl));
    close(open("unix-test.file", O_CREAT | O_WRONLY, 0644));
    bl = path_addr(&b, "unix-test.file");
    SHOW("connect to a regular file", connect(m, (struct sockaddr *)&b, bl));
    SHOW("bind to the file", bind(m, (struct sockaddr *)&b, bl));
    bl = path_addr(&b, "unix-test.file/x");
    SHOW("connect through a file", connect(m, (struct sockaddr *)&b, bl));
    bl = path_addr(&b, "unix-test.gone");
    int g = socket(AF_UNIX, SOCK_STREAM, 0);
    bind(g, (struct sockaddr *)&b, bl);
    listen(g, 1);
    close(g);
    SHOW("connect to a name whose socket closed", connect(m, (struct sockaddr *)&b, bl));
    bl = path_addr(&b, "no-such-dir/x");
    SHOW("bind in a missing directory", bind(m, (struct sockaddr *)&b, bl));
    b.sun_family = AF_INET;
    SHOW("bind with another family", bind(m, (struct sockaddr *)&b, bl));
    SHOW("bind with a length of 1", bind(m, (struct sockaddr *)&a, 1));
    SHOW("bind with a length of 111", bind(m, (struct sockaddr *)&a, 111));
    SHOW("bind with a length of 200", bind(m, (struct sockaddr *)&a, 200));
    SHOW("bind from a bad pointer", bind(m, bad, 20));
    SHOW("connect with AF_UNSPEC", connect(m, (struct sockaddr *)&(struct sockaddr){.sa_family = AF_UNSPEC}, sizeof(struct sockaddr)));
    SHOW("connect with a length of 2", connect(m, (struct sockaddr *)&a, 2));
    /* A relative name, reached by its full path from elsewhere. */
    struct sockaddr_un r;
    socklen_t rl = path_addr(&r, "unix-test.rel");
    int rs = socket(AF_UNIX, SOCK_DGRAM, 0);
    FIRST("bind a relative name", bind(rs, (struct sockaddr *)&r, rl));
    char full[108];
    snprintf(full, sizeof full, "%s/unix-test.rel", workdir);
    printf(", exists: %s\n", yes(access(full, F_OK) == 0));
    gl = sizeof got;
    getsockname(rs, (struct sockaddr *)&got, &gl);
    printf("its name: %s (%d)\n", got.sun_path, (int)gl);
    chdir("/");
    int rc = socket(AF_UNIX, SOCK_DGRAM, 0);
    bl = path_addr(&b, full);
    SHOW("send to it by its full path", sendto(rc, "r", 1, 0, (struct sockaddr *)&b, bl));
    SHOW("received", recv(rs, buf, sizeof buf, MSG_DONTWAIT));
    /* A name without its NUL, and one longer than the path. */
    memset(&b, 0, sizeof b);
    b.sun_family = AF_UNIX;
    memcpy(b.sun_path, full, strlen(full));
    SHOW("a path without NUL", sendto(rc, "s", 1, 0, (struct sockaddr *)&b, offsetof(struct sockaddr_un, sun_path) + strlen(full)));
    SHOW("a path with trailing bytes", sendto(rc, "t", 1, 0, (struct sockaddr *)&b, sizeof b));
    chdir(workdir);
    close(rs);
    close(rc);
    unlink("unix-test.rel");
    /* Unlinking the name: connects fail, the bound socket lives on. */
    unlink(p);
    int c2 = socket(AF_UNIX, SOCK_STREAM, 0);
    SHOW("connect after unlink", connect(c2, (struct sockaddr *)&a, al));
    gl = sizeof got;
    getsockname(srv, (struct sockaddr *)&got, &gl);
    printf("the listener keeps its name: %s\n", got.sun_path);
    /* The listener closes with a connection not accepted: ECONNRESET. */
    int fresh = socket(AF_UNIX, SOCK_STREAM, 0);
    bind(fresh, (struct sockaddr *)&a, al);
    listen(fresh, 5);
    connect(c2, (struct sockaddr *)&a, al);
    close(fresh);
    FIRST("listener closed before accept", read(c2, buf, sizeof buf));
    MORE(" then ", read(c2, buf, sizeof buf));
    printf("\n");
    SHOW("connect to the closed listener's name", connect(m, (struct sockaddr *)&a, al));
    close(c2);
    close(m);
    close(c);
    close(s);
    close(srv);
    close(other);
    unlink(p);
    unlink("unix-test.file");
    unlink("unix-test.gone");
}

static void abstract_names(void) {
    struct sockaddr_un a, got;
    socklen_t al = abstract_addr(&a, "abs");
    int srv = socket(AF_UNIX, SOCK_SEQPACKET, 0);
    SHOW("bind an abstract name", bind(srv, (struct sockaddr *)&a, al));
    socklen_t gl = sizeof got;
    getsockname(srv, (struct sockaddr *)&got, &gl);
    printf("getsockname: the length given: %s, leading NUL: %s, same bytes: %s\n", yes(gl == al), yes(got.sun_path[0] == 0),
           yes(memcmp(&got, &a, al) == 0));
    int again = socket(AF_UNIX, SOCK_SEQPACKET, 0);
    SHOW("the name again", bind(again, (struct sockaddr *)&a, al));
    SHOW("a longer name with it as prefix", bind(again, (struct sockaddr *)&a, al + 1));
    int dg = socket(AF_UNIX, SOCK_DGRAM, 0);
    SHOW("the same name for a datagram socket", bind(dg, (struct sockaddr *)&a, al));
    SHOW("listen", listen(srv, 2));
    int c = socket(AF_UNIX, SOCK_SEQPACKET, 0);
    SHOW("connect", connect(c, (struct sockaddr *)&a, al));
    int s = accept4(srv, NULL, NULL, SOCK_NONBLOCK | SOCK_CLOEXEC);
    printf("accept4 flags: O_NONBLOCK %s, FD_CLOEXEC %s\n", yes(fcntl(s, F_GETFL) & O_NONBLOCK), yes(fcntl(s, F_GETFD) & FD_CLOEXEC));
    /* musl's accept4 falls back to accept on EINVAL: the raw call. */
    SHOW("accept4 with a bad flag", syscall(SYS_accept4, srv, NULL, NULL, 1));
    int st = socket(AF_UNIX, SOCK_STREAM, 0);
    SHOW("a stream socket to it", connect(st, (struct sockaddr *)&a, al));
    int c3 = socket(AF_UNIX, SOCK_SEQPACKET, 0);
    SHOW("a name one byte shorter", connect(c3, (struct sockaddr *)&a, al - 1));
    close(c3);
    int d2 = socket(AF_UNIX, SOCK_DGRAM, 0);
    SHOW("a datagram to the datagram socket of the same name", sendto(d2, "d", 1, 0, (struct sockaddr *)&a, al));
    char buf[8];
    SHOW("received", recv(dg, buf, sizeof buf, MSG_DONTWAIT));
    close(d2);
    close(st);
    close(c);
    close(s);
    close(srv);
    int re = socket(AF_UNIX, SOCK_SEQPACKET, 0);
    SHOW("the name is free after close", bind(re, (struct sockaddr *)&a, al));
    close(re);
    close(again);
    close(dg);
    /* Autobind: the family alone, or SO_PASSCRED before a send. */
    int ab = socket(AF_UNIX, SOCK_DGRAM, 0);
    struct sockaddr_un fam = {.sun_family = AF_UNIX};
    SHOW("bind the family alone", bind(ab, (struct sockaddr *)&fam, sizeof(sa_family_t)));
    gl = sizeof got;
    getsockname(ab, (struct sockaddr *)&got, &gl);
    int hex = 1;
    for (int i = 1; i < 6; i++) hex &= (got.sun_path[i] >= '0' && got.sun_path[i] <= '9') || (got.sun_path[i] >= 'a' && got.sun_path[i] <= 'f');
    printf("autobound: length %d, leading NUL %s, five hex digits %s\n", (int)gl, yes(got.sun_path[0] == 0), yes(hex));
    SHOW("bind the family alone again", bind(ab, (struct sockaddr *)&fam, sizeof(sa_family_t)));
    int pc = socket(AF_UNIX, SOCK_DGRAM, 0);
    int one = 1;
    setsockopt(pc, SOL_SOCKET, SO_PASSCRED, &one, sizeof one);
    struct sockaddr_un abn;
    socklen_t abl = sizeof abn;
    getsockname(ab, (struct sockaddr *)&abn, &abl);
    SHOW("SO_PASSCRED, send to the autobound name", sendto(pc, "p", 1, 0, (struct sockaddr *)&abn, abl));
    gl = sizeof got;
    getsockname(pc, (struct sockaddr *)&got, &gl);
    printf("the sender is autobound: length %d\n", (int)gl);
    struct sockaddr_un from;
    socklen_t fl = sizeof from;
    recvfrom(ab, buf, sizeof buf, 0, (struct sockaddr *)&from, &fl);
    printf("the receiver sees its name: %s\n", yes(fl == gl && memcmp(&from, &got, gl) == 0));
    int plain = socket(AF_UNIX, SOCK_DGRAM, 0);
    sendto(plain, "q", 1, 0, (struct sockaddr *)&abn, abl);
    gl = sizeof got;
    getsockname(plain, (struct sockaddr *)&got, &gl);
    fl = sizeof from;
    recvfrom(ab, buf, sizeof buf, 0, (struct sockaddr *)&from, &fl);
    printf("without SO_PASSCRED the sender stays unnamed: length %d, the receiver gets address length %d\n", (int)gl, (int)fl);
    int ps = socket(AF_UNIX, SOCK_STREAM, 0);
    setsockopt(ps, SOL_SOCKET, SO_PASSCRED, &one, sizeof one);
    struct sockaddr_un la;
    socklen_t lal = abstract_addr(&la, "passcred-listener");
    int lsn = socket(AF_UNIX, SOCK_STREAM, 0);
    bind(lsn, (struct sockaddr *)&la, lal);
    listen(lsn, 1);
    SHOW("SO_PASSCRED, stream connect", connect(ps, (struct sockaddr *)&la, lal));
    gl = sizeof got;
    getsockname(ps, (struct sockaddr *)&got, &gl);
    struct sockaddr_un pa;
    socklen_t pal = sizeof pa;
    int acc = accept(lsn, (struct sockaddr *)&pa, &pal);
    printf("the client is autobound: length %d, accept sees it: %s\n", (int)gl, yes(pal == gl && memcmp(&pa, &got, gl) == 0));
    close(acc);
    close(lsn);
    close(ps);
    close(plain);
    close(pc);
    close(ab);
}

static void backlogs(void) {
    struct sockaddr_un a;
    socklen_t al = abstract_addr(&a, "backlog");
    int srv = socket(AF_UNIX, SOCK_STREAM, 0);
    bind(srv, (struct sockaddr *)&a, al);
    listen(srv, 1);
    int cs[4];
    for (int i = 0; i < 4; i++) {
        cs[i] = socket(AF_UNIX, SOCK_STREAM | SOCK_NONBLOCK, 0);
        printf("non-blocking connect %d with backlog 1", i);
        SHOW("", connect(cs[i], (struct sockaddr *)&a, al));
    }
    int s = accept(srv, NULL, NULL);
    SHOW("after one accept", connect(cs[3], (struct sockaddr *)&a, al));
    close(s);
    /* A blocking connect waits until the listener accepts. */
    pid_t c = fork();
    if (c == 0) {
        int x = socket(AF_UNIX, SOCK_STREAM, 0);
        struct timespec t0;
        now(&t0);
        FIRST("blocking connect to a full backlog", connect(x, (struct sockaddr *)&a, al));
        printf(", waited >= 80 ms: %s\n", yes(ms_since(&t0) >= 80));
        _exit(0);
    }
    msleep(100);
    s = accept(srv, NULL, NULL);
    close(s);
    int st;
    waitpid(c, &st, 0);
    fcntl(srv, F_SETFL, O_NONBLOCK);
    while ((s = accept(srv, NULL, NULL)) >= 0) close(s);
    SHOW("accept with none waiting, non-blocking", accept(srv, NULL, NULL));
    fcntl(srv, F_SETFL, 0);
    /* A blocking accept waits for a connect. */
    c = fork();
    if (c == 0) {
        msleep(80);
        int x = socket(AF_UNIX, SOCK_STREAM, 0);
        connect(x, (struct sockaddr *)&a, al);
        write(x, "from the child", 14);
        _exit(0);
    }
    struct timespec t0;
    now(&t0);
    s = accept(srv, NULL, NULL);
    char buf[32] = {0};
    read(s, buf, sizeof buf - 1);
    printf("blocking accept: waited >= 60 ms: %s, read '%s'\n", yes(ms_since(&t0) >= 60), buf);
    SHOW("then EOF", read(s, buf, sizeof buf));
    waitpid(c, &st, 0);
    close(s);
    for (int i = 0; i < 4; i++) close(cs[i]);
    /* SHUT_RD on a listener refuses connections. */
    SHOW("SHUT_RD on the listener", shutdown(srv, SHUT_RD));
    int late = socket(AF_UNIX, SOCK_STREAM, 0);
    SHOW("connect to it", connect(late, (struct sockaddr *)&a, al));
    SHOW("its accept", accept(srv, NULL, NULL));
    close(late);
    close(srv);
}

static void datagrams(void) {
    struct sockaddr_un a;
    socklen_t al = abstract_addr(&a, "dgram");
    int r = socket(AF_UNIX, SOCK_DGRAM, 0);
    bind(r, (struct sockaddr *)&a, al);
    int s = socket(AF_UNIX, SOCK_DGRAM, 0);
    SHOW("send unconnected", send(s, "x", 1, 0));
    SHOW("write unconnected", write(s, "x", 1));
    FIRST("sendto", sendto(s, "one", 3, 0, (struct sockaddr *)&a, al));
    MORE(" ", sendto(s, "two!", 4, 0, (struct sockaddr *)&a, al));
    MORE(" ", sendto(s, "", 0, 0, (struct sockaddr *)&a, al));
    printf("\n");
    int v;
    ioctl(r, FIONREAD, &v);
    printf("FIONREAD: the next datagram's size %d\n", v);
    char buf[16] = {0};
    struct sockaddr_un from;
    socklen_t fl = sizeof from;
    FIRST("recvfrom", recvfrom(r, buf, sizeof buf, 0, (struct sockaddr *)&from, &fl));
    printf(" '%s', address length %d\n", buf, (int)fl);
    memset(buf, 0, sizeof buf);
    struct iovec iov = {buf, 2};
    struct msghdr m = {.msg_iov = &iov, .msg_iovlen = 1};
    FIRST("recvmsg into 2 bytes", recvmsg(r, &m, 0));
    printf(" '%s', MSG_TRUNC %s\n", buf, yes(m.msg_flags & MSG_TRUNC));
    SHOW("the empty datagram", recv(r, buf, sizeof buf, 0));
    SHOW("nothing left", recv(r, buf, sizeof buf, MSG_DONTWAIT));
    sendto(s, "truncated", 9, 0, (struct sockaddr *)&a, al);
    SHOW("recv MSG_TRUNC into 3 bytes", recv(r, buf, 3, MSG_TRUNC));
    sendto(s, "peek", 4, 0, (struct sockaddr *)&a, al);
    FIRST("MSG_PEEK twice", recv(r, buf, 16, MSG_PEEK));
    MORE(" ", recv(r, buf, 16, MSG_PEEK));
    MORE(", then ", recv(r, buf, 16, 0));
    printf("\n");
    SHOW("connect", connect(s, (struct sockaddr *)&a, al));
    SHOW("send", send(s, "c", 1, 0));
    struct sockaddr_un got;
    socklen_t gl = sizeof got;
    getpeername(s, (struct sockaddr *)&got, &gl);
    printf("getpeername is the name: %s\n", yes(gl == al && memcmp(&got, &a, al) == 0));
    recv(r, buf, sizeof buf, 0);
    static char huge[300000];
    SHOW("a datagram bigger than SO_SNDBUF", send(s, huge, sizeof huge, 0));
    /* The receiver holds 11 datagrams at most from senders it is not connected to. */
    int n = 0;
    while (n < 100 && send(s, "f", 1, MSG_DONTWAIT) == 1) n++;
    printf("a full receiver: %s after some (at least 5: %s)\n", en(errno), yes(n >= 5));
    printf("the connected sender's poll: %#x\n", poll1(s, POLLOUT));
    recv(r, buf, sizeof buf, 0);
    printf("one taken: POLLOUT %#x", poll1(s, POLLOUT));
    MORE(", send ", send(s, "g", 1, MSG_DONTWAIT));
    printf("\n");
    while (recv(r, buf, sizeof buf, MSG_DONTWAIT) > 0) {}
    /* A blocking sender waits for room. */
    while (send(s, "f", 1, MSG_DONTWAIT) == 1) {}
    pid_t c = fork();
    if (c == 0) {
        msleep(80);
        recv(r, buf, sizeof buf, 0);
        _exit(0);
    }
    struct timespec t0;
    now(&t0);
    FIRST("blocking send to a full receiver", send(s, "h", 1, 0));
    printf(", waited >= 60 ms: %s\n", yes(ms_since(&t0) >= 60));
    waitpid(c, NULL, 0);
    while (recv(r, buf, sizeof buf, MSG_DONTWAIT) > 0) {}
    /* A socket connected to another refuses strangers. */
    int third = socket(AF_UNIX, SOCK_DGRAM, 0);
    struct sockaddr_un b;
    socklen_t bl = abstract_addr(&b, "dgram-b");
    bind(third, (struct sockaddr *)&b, bl);
    connect(r, (struct sockaddr *)&b, bl);
    int stranger = socket(AF_UNIX, SOCK_DGRAM, 0);
    SHOW("to a socket connected elsewhere", sendto(stranger, "x", 1, 0, (struct sockaddr *)&a, al));
    SHOW("connect to it", connect(stranger, (struct sockaddr *)&a, al));
    close(stranger);
    struct sockaddr un = {.sa_family = AF_UNSPEC};
    SHOW("AF_UNSPEC disconnects", connect(r, &un, sizeof un));
    SHOW("then send", send(r, "x", 1, 0));
    SHOW("getpeername", getpeername(r, (struct sockaddr *)&got, &gl));
    SHOW("connect with a 1-byte address", connect(r, &un, 1));
    struct sockaddr_un nope;
    socklen_t nl = abstract_addr(&nope, "nobody");
    SHOW("sendto a name nobody holds", sendto(s, "x", 1, 0, (struct sockaddr *)&nope, nl));
    nl = path_addr(&nope, "/tmp/nope/x");
    SHOW("sendto a missing path", sendto(s, "x", 1, 0, (struct sockaddr *)&nope, nl));
    SHOW("sendto a 1-byte address", sendto(s, "x", 1, 0, (struct sockaddr *)&a, 1));
    SHOW("sendto a 200-byte address", sendto(s, "x", 1, 0, (struct sockaddr *)&a, 200));
    /* The receiver goes away. */
    close(r);
    FIRST("send to the closed peer", send(s, "x", 1, 0));
    MORE(", then ", send(s, "x", 1, 0));
    printf("\n");
    close(s);
    close(third);
    /* socketpair: connected both ways, no queue limit but the buffer. */
    int sv[2];
    socketpair(AF_UNIX, SOCK_DGRAM, 0, sv);
    FIRST("pair", write(sv[0], "12345", 5));
    MORE(" ", write(sv[0], "678", 3));
    MORE(" -> ", read(sv[1], buf, sizeof buf));
    MORE(" ", read(sv[1], buf, sizeof buf));
    printf("\n");
    n = 0;
    while (n < 100000 && send(sv[0], "f", 1, MSG_DONTWAIT) == 1) n++;
    printf("small datagrams on a pair until %s: more than 11: %s\n", en(errno), yes(n > 11));
    printf("poll: %#x", poll1(sv[0], POLLIN | POLLOUT));
    printf(" %#x\n", poll1(sv[1], POLLIN | POLLOUT));
    while (recv(sv[1], buf, sizeof buf, MSG_DONTWAIT) > 0) {}
    SHOW("SHUT_RD on a datagram socket", shutdown(sv[1], SHUT_RD));
    SHOW("recv, non-blocking", recv(sv[1], buf, 1, MSG_DONTWAIT));
    SHOW("recv, blocking", recv(sv[1], buf, 1, 0));
    SHOW("the peer's send", send(sv[0], "x", 1, MSG_DONTWAIT));
    printf("poll: %#x\n", poll1(sv[1], POLLIN | POLLOUT | POLLRDHUP));
    close(sv[0]);
    close(sv[1]);
    socketpair(AF_UNIX, SOCK_DGRAM, 0, sv);
    close(sv[1]);
    FIRST("pair, peer closed: recv", recv(sv[0], buf, 1, MSG_DONTWAIT));
    MORE(", send ", send(sv[0], "x", 1, 0));
    MORE(", then ", send(sv[0], "x", 1, 0));
    printf("\n");
    close(sv[0]);
}

static void seqpackets(void) {
    int sv[2];
    socketpair(AF_UNIX, SOCK_SEQPACKET, 0, sv);
    char buf[16] = {0};
    FIRST("seqpacket", write(sv[0], "first", 5));
    MORE(" ", write(sv[0], "second!", 7));
    MORE(" -> ", read(sv[1], buf, sizeof buf));
    MORE(" ", read(sv[1], buf, sizeof buf));
    printf("\n");
    write(sv[0], "longmessage", 11);
    struct iovec iov = {buf, 4};
    struct msghdr m = {.msg_iov = &iov, .msg_iovlen = 1};
    FIRST("into 4 bytes", recvmsg(sv[1], &m, 0));
    printf(", MSG_TRUNC %s", yes(m.msg_flags & MSG_TRUNC));
    MORE("; the rest is gone: ", recv(sv[1], buf, sizeof buf, MSG_DONTWAIT));
    printf("\n");
    int v;
    write(sv[0], "ab", 2);
    write(sv[0], "cde", 3);
    ioctl(sv[1], FIONREAD, &v);
    printf("FIONREAD: %d\n", v);
    struct sockaddr_un nope;
    socklen_t nl = path_addr(&nope, "/nope");
    SHOW("sendto with an address is ignored", sendto(sv[0], "x", 1, 0, (struct sockaddr *)&nope, nl));
    signal(SIGPIPE, on_pipe);
    sigpipes = 0;
    close(sv[0]);
    FIRST("after the peer closed", read(sv[1], buf, sizeof buf));
    MORE(" ", read(sv[1], buf, sizeof buf));
    MORE(" ", read(sv[1], buf, sizeof buf));
    MORE(" ", read(sv[1], buf, sizeof buf));
    printf("\n");
    FIRST("write", write(sv[1], "x", 1));
    printf(", SIGPIPE %d\n", sigpipes);
    printf("poll: %#x\n", poll1(sv[1], POLLIN | POLLOUT | POLLRDHUP));
    close(sv[1]);
    signal(SIGPIPE, SIG_DFL);
    int q = socket(AF_UNIX, SOCK_SEQPACKET, 0);
    FIRST("unconnected seqpacket: read", read(q, buf, 1));
    MORE(", write ", write(q, "x", 1));
    printf(", poll %#x\n", poll1(q, POLLIN | POLLOUT));
    close(q);
    /* The peer closes with a message unread: ECONNRESET first. */
    socketpair(AF_UNIX, SOCK_SEQPACKET, 0, sv);
    write(sv[1], "unread", 6);
    write(sv[0], "for 1", 5);
    close(sv[0]);
    FIRST("seqpacket peer closed with data unread", read(sv[1], buf, sizeof buf));
    MORE(" ", read(sv[1], buf, sizeof buf));
    MORE(" ", read(sv[1], buf, sizeof buf));
    printf("\n");
    close(sv[1]);
}

static void mmsgs(void) {
    int sv[2];
    socketpair(AF_UNIX, SOCK_DGRAM, 0, sv);
    struct mmsghdr out[3];
    struct iovec iov[3] = {{"one", 3}, {"three", 5}, {"two!", 4}};
    memset(out, 0, sizeof out);
    for (int i = 0; i < 3; i++) {
        out[i].msg_hdr.msg_iov = &iov[i];
        out[i].msg_hdr.msg_iovlen = 1;
    }
    SHOW("sendmmsg of 3", sendmmsg(sv[0], out, 3, 0));
    printf("msg_len: %u %u %u\n", out[0].msg_len, out[1].msg_len, out[2].msg_len);
    struct mmsghdr in[4];
    char bufs[4][8];
    struct iovec riov[4];
    memset(in, 0, sizeof in);
    for (int i = 0; i < 4; i++) {
        riov[i] = (struct iovec){bufs[i], 4};
        in[i].msg_hdr.msg_iov = &riov[i];
        in[i].msg_hdr.msg_iovlen = 1;
    }
    SHOW("recvmmsg of up to 4, MSG_WAITFORONE", recvmmsg(sv[1], in, 4, MSG_WAITFORONE, NULL));
    printf("msg_len: %u %u %u, MSG_TRUNC on the second: %s\n", in[0].msg_len, in[1].msg_len, in[2].msg_len,
           yes(in[1].msg_hdr.msg_flags & MSG_TRUNC));
    SHOW("recvmmsg of none, MSG_DONTWAIT", recvmmsg(sv[1], in, 4, MSG_DONTWAIT, NULL));
    struct timespec bad_ts = {0, 2000000000};
    SHOW("recvmmsg with a bad timeout", recvmmsg(sv[1], in, 4, MSG_DONTWAIT, &bad_ts));
    SHOW("sendmmsg on a pipe", sendmmsg(0, out, 1, 0) < 0 && errno == ENOTSOCK ? 0 : -1);
    close(sv[0]);
    close(sv[1]);
}

static void rights(void) {
    int sv[2], p[2];
    socketpair(AF_UNIX, SOCK_STREAM, 0, sv);
    pipe(p);
    int f = open("unix-test.data", O_CREAT | O_RDWR | O_TRUNC, 0644);
    write(f, "file contents", 13);
    int fds[2] = {p[0], f};
    SHOW("send two descriptors", send_fds(sv[0], fds, 2, "D", 1));
    close(p[0]);
    close(f);
    int got[256], flags = 0;
    char data[8] = {0};
    int n = recv_fds(sv[1], got, CMSG_SPACE(sizeof(int) * 2), MSG_CMSG_CLOEXEC, &flags, data, sizeof data);
    printf("received %d with '%s', msg_flags %#x, FD_CLOEXEC %s\n", n, data, flags, yes(n == 2 && (fcntl(got[0], F_GETFD) & FD_CLOEXEC)));
    write(p[1], "through the pipe", 16);
    char buf[32] = {0};
    read(got[0], buf, sizeof buf - 1);
    printf("the pipe works: '%s'\n", buf);
    memset(buf, 0, sizeof buf);
    lseek(got[1], 0, SEEK_SET);
    read(got[1], buf, sizeof buf - 1);
    printf("the file works: '%s', offset %ld\n", buf, (long)lseek(got[1], 0, SEEK_CUR));
    close(got[0]);
    close(got[1]);
    /* A control buffer for one: MSG_CTRUNC, the other is closed. */
    pipe(p);
    int two[2] = {p[0], p[0]};
    send_fds(sv[0], two, 2, "E", 1);
    close(p[0]);
    n = recv_fds(sv[1], got, CMSG_LEN(sizeof(int)), 0, &flags, data, sizeof data);
    printf("short control buffer: %d received, MSG_CTRUNC %s\n", n, yes(flags & MSG_CTRUNC));
    close(got[0]);
    signal(SIGPIPE, SIG_IGN);
    SHOW("every read end gone: write", write(p[1], "x", 1));
    signal(SIGPIPE, SIG_DFL);
    close(p[1]);
    /* A control buffer shorter than a header. */
    pipe(p);
    send_fds(sv[0], &p[0], 1, "H", 1);
    close(p[0]);
    n = recv_fds(sv[1], got, 8, 0, &flags, data, sizeof data);
    printf("an 8-byte control buffer: %d received, MSG_CTRUNC %s\n", n, yes(flags & MSG_CTRUNC));
    close(p[1]);
    /* No control buffer: the descriptor is dropped (a write end: EOF). */
    pipe(p);
    send_fds(sv[0], &p[1], 1, "F", 1);
    close(p[1]);
    SHOW("recv without a control buffer", recv(sv[1], data, sizeof data, 0));
    SHOW("the dropped write end: read", read(p[0], buf, sizeof buf));
    close(p[0]);
    /* MSG_PEEK installs copies; the message stays. */
    pipe(p);
    send_fds(sv[0], &p[1], 1, "G", 1);
    close(p[1]);
    n = recv_fds(sv[1], got, CMSG_SPACE(sizeof(int)), MSG_PEEK, &flags, data, sizeof data);
    int peeked = got[0];
    n += recv_fds(sv[1], got, CMSG_SPACE(sizeof(int)), 0, &flags, data, sizeof data);
    printf("MSG_PEEK then a read: %d descriptors, distinct: %s\n", n, yes(peeked != got[0]));
    close(peeked);
    write(got[0], "y", 1);
    close(got[0]);
    FIRST("read end", read(p[0], buf, sizeof buf));
    MORE(" ", read(p[0], buf, sizeof buf));
    printf("\n");
    close(p[0]);
    /* Data and descriptors: a stream read stops after the message that brought them. */
    pipe(p);
    write(sv[0], "abc", 3);
    send_fds(sv[0], &p[0], 1, "def", 3);
    write(sv[0], "ghi", 3);
    memset(data, 0, sizeof data);
    n = recv_fds(sv[1], got, CMSG_SPACE(sizeof(int)), 0, &flags, data, sizeof data - 1);
    printf("stream read with descriptors: '%s' and %d\n", data, n);
    close(got[0]);
    memset(data, 0, sizeof data);
    FIRST("the next read", read(sv[1], data, sizeof data - 1));
    printf(" '%s'\n", data);
    close(p[0]);
    close(p[1]);
    /* A zero-byte stream send carries nothing, descriptors neither. */
    pipe(p);
    SHOW("zero bytes with a descriptor", send_fds(sv[0], &p[0], 1, "", 0));
    int v;
    ioctl(sv[1], FIONREAD, &v);
    printf("queued: %d\n", v);
    /* Errors. */
    int badfd = 77;
    SHOW("a bad descriptor", send_fds(sv[0], &badfd, 1, "x", 1));
    int many[200];
    for (int i = 0; i < 200; i++) many[i] = p[0];
    SHOW("200 descriptors", send_fds(sv[0], many, 200, "x", 1));
    n = recv_fds(sv[1], got, CMSG_SPACE(sizeof(int) * 256), 0, &flags, data, sizeof data);
    printf("received 200: %s\n", yes(n == 200));
    for (int i = 0; i < n; i++) close(got[i]);
    char ctl[64] = {0};
    struct iovec iov = {"x", 1};
    struct msghdr m = {.msg_iov = &iov, .msg_iovlen = 1, .msg_control = ctl, .msg_controllen = sizeof ctl};
    struct cmsghdr *c = CMSG_FIRSTHDR(&m);
    c->cmsg_level = SOL_SOCKET;
    c->cmsg_type = 99;
    c->cmsg_len = CMSG_LEN(4);
    SHOW("an unknown control message type", sendmsg(sv[0], &m, 0));
    c->cmsg_type = SCM_RIGHTS;
    c->cmsg_len = 200;
    SHOW("a control message longer than its buffer", sendmsg(sv[0], &m, 0));
    c->cmsg_len = 8;
    SHOW("a control message shorter than its header", sendmsg(sv[0], &m, 0));
    c->cmsg_level = 99;
    c->cmsg_len = CMSG_LEN(4);
    m.msg_controllen = CMSG_SPACE(4);
    SHOW("another level is ignored", sendmsg(sv[0], &m, 0));
    m.msg_controllen = sizeof ctl;
    recv(sv[1], data, sizeof data, 0);
    /* Raw calls: musl copies the msghdr and control data itself. */
    SHOW("sendmsg from a bad msghdr", syscall(SYS_sendmsg, sv[0], bad, 0));
    m.msg_control = bad;
    SHOW("sendmsg with a bad control pointer", syscall(SYS_sendmsg, sv[0], &m, 0));
    m.msg_control = NULL;
    m.msg_controllen = 0;
    m.msg_iovlen = 1025;
    SHOW("sendmsg with 1025 iovecs", syscall(SYS_sendmsg, sv[0], &m, 0));
    close(p[0]);
    close(p[1]);
    /* Descriptors in flight are released when the receiver closes. */
    int tv[2];
    socketpair(AF_UNIX, SOCK_DGRAM, 0, tv);
    pipe(p);
    send_fds(tv[0], &p[1], 1, "I", 1);
    close(p[1]);
    close(tv[1]);
    SHOW("a write end in flight, the receiver closed: read", read(p[0], buf, sizeof buf));
    close(p[0]);
    close(tv[0]);
    /* A cycle: each socket sent over itself to the other, both closed. */
    pipe(p);
    socketpair(AF_UNIX, SOCK_STREAM, 0, tv);
    send_fds(tv[0], &tv[0], 1, "a", 1);
    send_fds(tv[1], &tv[1], 1, "b", 1);
    send_fds(tv[0], &p[1], 1, "c", 1);
    close(p[1]);
    close(tv[0]);
    close(tv[1]);
    await_collection(p[0]);
    SHOW("sockets only messages in flight reach are collected: their write end's read", read(p[0], buf, sizeof buf));
    close(p[0]);
    /* A listener holding a connection that carries itself. */
    pipe(p);
    struct sockaddr_un la;
    socklen_t lal = abstract_addr(&la, "inflight-listener");
    int lsn = socket(AF_UNIX, SOCK_STREAM, 0);
    bind(lsn, (struct sockaddr *)&la, lal);
    listen(lsn, 1);
    int cl = socket(AF_UNIX, SOCK_STREAM, 0);
    connect(cl, (struct sockaddr *)&la, lal);
    int pass[2] = {lsn, p[1]};
    send_fds(cl, pass, 2, "l", 1);
    close(p[1]);
    close(lsn);
    close(cl);
    await_collection(p[0]);
    SHOW("a listener in flight in its own backlog, collected: read", read(p[0], buf, sizeof buf));
    close(p[0]);
    /* Across processes: the child sends what it opened. */
    pid_t ch = fork();
    if (ch == 0) {
        int fd = open("unix-test.data", O_RDONLY);
        send_fds(sv[0], &fd, 1, "C", 1);
        _exit(0);
    }
    waitpid(ch, NULL, 0);
    n = recv_fds(sv[1], got, CMSG_SPACE(sizeof(int)), 0, &flags, data, sizeof data);
    memset(buf, 0, sizeof buf);
    read(got[0], buf, 4);
    printf("from a child that has exited: %d, reads '%s'\n", n, buf);
    close(got[0]);
    /* SCM_CREDENTIALS. */
    int one = 1;
    setsockopt(sv[1], SOL_SOCKET, SO_PASSCRED, &one, sizeof one);
    ch = fork();
    if (ch == 0) {
        write(sv[0], "cred", 4);
        _exit(0);
    }
    waitpid(ch, NULL, 0);
    char cbuf[CMSG_SPACE(sizeof(struct ucred))];
    iov.iov_base = data;
    iov.iov_len = sizeof data;
    m = (struct msghdr){.msg_iov = &iov, .msg_iovlen = 1, .msg_control = cbuf, .msg_controllen = sizeof cbuf};
    FIRST("SO_PASSCRED", recvmsg(sv[1], &m, 0));
    c = CMSG_FIRSTHDR(&m);
    struct ucred uc = {0};
    if (c && c->cmsg_type == SCM_CREDENTIALS) memcpy(&uc, CMSG_DATA(c), sizeof uc);
    printf(", SCM_CREDENTIALS %s, pid is the child's %s, uid %d gid %d, controllen %d\n", yes(c && c->cmsg_type == SCM_CREDENTIALS),
           yes(uc.pid == ch), uc.uid, uc.gid, (int)m.msg_controllen);
    /* Different senders are not joined in one read. */
    write(sv[0], "mine", 4);
    ch = fork();
    if (ch == 0) {
        write(sv[0], "child", 5);
        _exit(0);
    }
    waitpid(ch, NULL, 0);
    memset(data, 0, sizeof data);
    FIRST("two senders, SO_PASSCRED", read(sv[1], data, sizeof data));
    MORE(" then ", read(sv[1], data, sizeof data));
    printf("\n");
    /* Sending credentials: one's own, or any process's as root. */
    char sc[CMSG_SPACE(sizeof(struct ucred))] = {0};
    m = (struct msghdr){.msg_iov = &(struct iovec){"s", 1}, .msg_iovlen = 1, .msg_control = sc, .msg_controllen = sizeof sc};
    c = CMSG_FIRSTHDR(&m);
    c->cmsg_level = SOL_SOCKET;
    c->cmsg_type = SCM_CREDENTIALS;
    c->cmsg_len = CMSG_LEN(sizeof(struct ucred));
    struct ucred mine = {getpid(), 0, 0};
    memcpy(CMSG_DATA(c), &mine, sizeof mine);
    SHOW("sending SCM_CREDENTIALS", sendmsg(sv[0], &m, 0));
    mine.pid = ch; /* reaped */
    memcpy(CMSG_DATA(c), &mine, sizeof mine);
    SHOW("credentials of a process that is gone", sendmsg(sv[0], &m, 0));
    mine.pid = getpid();
    mine.uid = -1;
    memcpy(CMSG_DATA(c), &mine, sizeof mine);
    SHOW("uid -1", sendmsg(sv[0], &m, 0));
    recv(sv[1], data, sizeof data, MSG_DONTWAIT);
    close(sv[0]);
    close(sv[1]);
    unlink("unix-test.data");
}

static void readiness(void) {
    struct sockaddr_un a;
    socklen_t al = abstract_addr(&a, "epoll");
    int srv = socket(AF_UNIX, SOCK_STREAM | SOCK_NONBLOCK, 0);
    bind(srv, (struct sockaddr *)&a, al);
    listen(srv, 4);
    int ep = epoll_create1(0);
    struct epoll_event ev = {.events = EPOLLIN, .data.u32 = 1};
    epoll_ctl(ep, EPOLL_CTL_ADD, srv, &ev);
    struct epoll_event out[4];
    SHOW("epoll, listener idle", epoll_wait(ep, out, 4, 0));
    pid_t c = fork();
    if (c == 0) {
        msleep(60);
        int x = socket(AF_UNIX, SOCK_STREAM, 0);
        connect(x, (struct sockaddr *)&a, al);
        msleep(60);
        write(x, "data", 4);
        msleep(60);
        shutdown(x, SHUT_WR);
        msleep(200);
        _exit(0);
    }
    struct timespec t0;
    now(&t0);
    int n = epoll_wait(ep, out, 4, 2000);
    printf("epoll wakes for a connection: %d data %u, waited >= 40 ms: %s\n", n, out[0].data.u32, yes(ms_since(&t0) >= 40));
    int s = accept(srv, NULL, NULL);
    ev.events = EPOLLIN | EPOLLET | EPOLLRDHUP;
    ev.data.u32 = 2;
    epoll_ctl(ep, EPOLL_CTL_ADD, s, &ev);
    n = epoll_wait(ep, out, 4, 2000);
    printf("edge-triggered data: %d data %u events %#x\n", n, out[0].data.u32, out[0].events);
    SHOW("again, nothing new", epoll_wait(ep, out, 4, 0));
    n = epoll_wait(ep, out, 4, 2000);
    printf("peer's SHUT_WR: %d events %#x\n", n, out[0].events);
    /* select sees the same. */
    fd_set rd, wr;
    FD_ZERO(&rd);
    FD_ZERO(&wr);
    FD_SET(s, &rd);
    FD_SET(s, &wr);
    struct timeval tv = {0, 0};
    n = select(s + 1, &rd, &wr, NULL, &tv);
    printf("select: %d, readable %s, writable %s\n", n, yes(FD_ISSET(s, &rd)), yes(FD_ISSET(s, &wr)));
    waitpid(c, NULL, 0);
    close(s);
    /* poll waits for data. */
    int sv[2];
    socketpair(AF_UNIX, SOCK_DGRAM, 0, sv);
    c = fork();
    if (c == 0) {
        msleep(60);
        write(sv[1], "p", 1);
        _exit(0);
    }
    struct pollfd p = {.fd = sv[0], .events = POLLIN};
    now(&t0);
    n = poll(&p, 1, 2000);
    printf("poll wakes for a datagram: %d revents %#x, waited >= 40 ms: %s\n", n, p.revents, yes(ms_since(&t0) >= 40));
    waitpid(c, NULL, 0);
    close(sv[0]);
    close(sv[1]);
    close(ep);
    close(srv);
}

static void fork_and_exec(const char *self) {
    int sv[2];
    socketpair(AF_UNIX, SOCK_STREAM, 0, sv);
    pid_t c = fork();
    if (c == 0) {
        write(sv[0], "child", 5);
        _exit(0);
    }
    waitpid(c, NULL, 0);
    char buf[32] = {0};
    FIRST("the child's write through the shared socket", read(sv[1], buf, sizeof buf - 1));
    printf(" '%s'\n", buf);
    close(sv[0]);
    close(sv[1]);
    /* exec closes a SOCK_CLOEXEC socket and keeps the others. */
    int keep[2], gone[2];
    socketpair(AF_UNIX, SOCK_STREAM, 0, keep);
    socketpair(AF_UNIX, SOCK_STREAM | SOCK_CLOEXEC, 0, gone);
    c = fork();
    if (c == 0) {
        char a[16], b[16];
        snprintf(a, sizeof a, "%d", keep[0]);
        snprintf(b, sizeof b, "%d", gone[0]);
        execl(self, self, "exec-probe", a, b, (char *)NULL);
        _exit(127);
    }
    close(keep[0]);
    close(gone[0]);
    memset(buf, 0, sizeof buf);
    FIRST("after exec, the kept socket", read(keep[1], buf, sizeof buf - 1));
    printf(" '%s'\n", buf);
    SHOW("the close-on-exec one: EOF", read(gone[1], buf, sizeof buf));
    int st;
    waitpid(c, &st, 0);
    printf("the exec'd program exited %d\n", WIFEXITED(st) ? WEXITSTATUS(st) : -1);
    close(keep[1]);
    close(gone[1]);
}

static void exec_probe(int keep, int gone) {
    char msg[32];
    int n = snprintf(msg, sizeof msg, "kept%s", fcntl(gone, F_GETFD) < 0 && errno == EBADF ? ", other closed" : ", other open");
    write(keep, msg, n);
    /* Stay until the parent saw the close-on-exec socket's EOF. */
    msleep(100);
}

static void options(void) {
    int s = socket(AF_UNIX, SOCK_STREAM, 0);
    int v = 10000;
    SHOW("SO_SNDBUF 10000", setsockopt(s, SOL_SOCKET, SO_SNDBUF, &v, sizeof v));
    printf("reads %d\n", intopt(s, SO_SNDBUF));
    v = 20000;
    setsockopt(s, SOL_SOCKET, SO_RCVBUF, &v, sizeof v);
    printf("SO_RCVBUF 20000 reads %d\n", intopt(s, SO_RCVBUF));
    int s2 = socket(AF_UNIX, SOCK_DGRAM, 0);
    printf("default SO_SNDBUF %d, SO_RCVBUF %d\n", intopt(s2, SO_SNDBUF), intopt(s2, SO_RCVBUF));
    close(s2);
    v = 1;
    SHOW("SO_REUSEADDR", setsockopt(s, SOL_SOCKET, SO_REUSEADDR, &v, sizeof v));
    printf("reads %d\n", intopt(s, SO_REUSEADDR));
    v = 5;
    setsockopt(s, SOL_SOCKET, SO_KEEPALIVE, &v, sizeof v);
    printf("SO_KEEPALIVE 5 reads %d\n", intopt(s, SO_KEEPALIVE));
    struct linger lg = {1, 7};
    setsockopt(s, SOL_SOCKET, SO_LINGER, &lg, sizeof lg);
    memset(&lg, 0, sizeof lg);
    socklen_t l = sizeof lg;
    getsockopt(s, SOL_SOCKET, SO_LINGER, &lg, &l);
    printf("SO_LINGER: %d %d\n", lg.l_onoff, lg.l_linger);
    SHOW("a short option", setsockopt(s, SOL_SOCKET, SO_REUSEADDR, &v, 2));
    SHOW("an unknown option", setsockopt(s, SOL_SOCKET, 9999, &v, sizeof v));
    l = sizeof v;
    SHOW("reading it", getsockopt(s, SOL_SOCKET, 9999, &v, &l));
    SHOW("SO_TYPE is read-only", setsockopt(s, SOL_SOCKET, SO_TYPE, &v, sizeof v));
    SHOW("another level", setsockopt(s, 0, 1, &v, sizeof v));
    SHOW("reading another level", getsockopt(s, 6, 1, &v, &l));
    l = 2;
    v = -1;
    getsockopt(s, SOL_SOCKET, SO_TYPE, &v, &l);
    printf("SO_TYPE into 2 bytes: length %d, value %#x\n", (int)l, v);
    l = -1;
    SHOW("a negative length", getsockopt(s, SOL_SOCKET, SO_TYPE, &v, &l));
    SHOW("a bad length pointer", getsockopt(s, SOL_SOCKET, SO_TYPE, &v, bad));
    l = sizeof v;
    SHOW("a bad value pointer", getsockopt(s, SOL_SOCKET, SO_TYPE, bad, &l));
    SHOW("setsockopt from a bad pointer", setsockopt(s, SOL_SOCKET, SO_KEEPALIVE, bad, 4));
    struct ucred cr;
    l = sizeof cr;
    getsockopt(s, SOL_SOCKET, SO_PEERCRED, &cr, &l);
    printf("SO_PEERCRED unconnected: pid %d uid %d gid %d\n", cr.pid, cr.uid, cr.gid);
    struct sockaddr_un a;
    l = sizeof a;
    SHOW("SO_PEERNAME unconnected", getsockopt(s, SOL_SOCKET, SO_PEERNAME, &a, &l));
    SHOW("getpeername unconnected", getpeername(s, (struct sockaddr *)&a, &l));
    SHOW("getsockname into a bad pointer", getsockname(s, bad, &l));
    SHOW("getsockname with a bad length pointer", getsockname(s, (struct sockaddr *)&a, bad));
    l = -1;
    SHOW("getsockname with a negative length", getsockname(s, (struct sockaddr *)&a, &l));
    SHOW("shutdown unconnected", shutdown(s, SHUT_RDWR));
    SHOW("flock", flock(s, LOCK_EX | LOCK_NB));
    close(s);
    int sv[2];
    socketpair(AF_UNIX, SOCK_STREAM, 0, sv);
    SHOW("send from a bad buffer", send(sv[0], bad, 10, 0));
    write(sv[0], "abc", 3);
    SHOW("recv into a bad buffer", recv(sv[1], bad, 10, 0));
    SHOW("the data stays", recv(sv[1], &v, 3, 0));
    SHOW("recvmsg from a bad msghdr", syscall(SYS_recvmsg, sv[1], bad, 0));
    close(sv[0]);
    close(sv[1]);
}

int main(int argc, char **argv) {
    if (argc == 4 && strcmp(argv[1], "exec-probe") == 0) {
        exec_probe(atoi(argv[2]), atoi(argv[3]));
        return 0;
    }
    setvbuf(stdout, NULL, _IONBF, 0);
    snprintf(abstract_base, sizeof abstract_base, "selkie-unix-test-%08d", (int)getpid());
    snprintf(workdir, sizeof workdir, "/tmp/unix-test-%08d", (int)getpid());
    mkdir(workdir, 0755);
    chdir(workdir);
    alarm(120);
    creation_errors();
    stream_pair();
    shutdown_and_sigpipe();
    stream_buffers();
    timeouts();
    path_names();
    abstract_names();
    backlogs();
    datagrams();
    seqpackets();
    mmsgs();
    rights();
    readiness();
    fork_and_exec(argv[0]);
    options();
    chdir("/");
    rmdir(workdir);
    printf("unix done\n");
    return 0;
}
