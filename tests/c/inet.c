/* AF_INET over 127.0.0.1: TCP (a forked server and 1 MiB through it,
 * names, non-blocking connect with epoll and SO_ERROR, refused
 * connections, the address in use, shutdown, SIGPIPE, a reset) and UDP
 * (addresses, MSG_PEEK, MSG_TRUNC, connect), FIONREAD, socket options,
 * the errors of unconnected sockets, and the loopback interface as
 * ifconfig sees it. One line per check; run under Selkie and natively,
 * the outputs must match: ports are ephemeral (bound to port 0) and never
 * printed, nor is anything that differs between systems. */
#define _GNU_SOURCE
#include <arpa/inet.h>
#include <errno.h>
#include <fcntl.h>
#include <net/if.h>
#include <netinet/in.h>
#include <netinet/tcp.h>
#include <poll.h>
#include <signal.h>
#include <stdint.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/epoll.h>
#include <sys/ioctl.h>
#include <sys/socket.h>
#include <sys/time.h>
#include <sys/uio.h>
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
    case EADDRINUSE: return "EADDRINUSE";
    case EADDRNOTAVAIL: return "EADDRNOTAVAIL";
    case EAFNOSUPPORT: return "EAFNOSUPPORT";
    case EPROTONOSUPPORT: return "EPROTONOSUPPORT";
    case EDESTADDRREQ: return "EDESTADDRREQ";
    case EINPROGRESS: return "EINPROGRESS";
    case EALREADY: return "EALREADY";
    case ENODEV: return "ENODEV";
    case ENOPROTOOPT: return "ENOPROTOOPT";
    default: return strerror(e);
    }
}

/* The errno of a call: "0" when it worked. */
#define ERR(call) ((call) < 0 ? en(errno) : "0")

static struct sockaddr_in loopback(unsigned short port) {
    struct sockaddr_in a;
    memset(&a, 0, sizeof a);
    a.sin_family = AF_INET;
    a.sin_port = htons(port);
    a.sin_addr.s_addr = htonl(INADDR_LOOPBACK);
    return a;
}

static struct sockaddr_in name_of(int fd, int peer) {
    struct sockaddr_in a;
    socklen_t len = sizeof a;
    memset(&a, 0, sizeof a);
    if ((peer ? getpeername(fd, (struct sockaddr *)&a, &len) : getsockname(fd, (struct sockaddr *)&a, &len)) < 0)
        memset(&a, 0xff, sizeof a);
    return a;
}

static int same(struct sockaddr_in a, struct sockaddr_in b) {
    return a.sin_family == b.sin_family && a.sin_port == b.sin_port && a.sin_addr.s_addr == b.sin_addr.s_addr;
}

/* A listener on 127.0.0.1 at an ephemeral port. */
static int listener(struct sockaddr_in *at) {
    int l = socket(AF_INET, SOCK_STREAM, 0);
    int one = 1;
    setsockopt(l, SOL_SOCKET, SO_REUSEADDR, &one, sizeof one);
    struct sockaddr_in a = loopback(0);
    if (bind(l, (struct sockaddr *)&a, sizeof a) < 0 || listen(l, 8) < 0) {
        printf("listener: %s\n", en(errno));
        exit(1);
    }
    *at = name_of(l, 0);
    return l;
}

/* A connected pair over loopback: client and server ends. */
static void tcp_pair(int *c, int *s) {
    struct sockaddr_in la;
    int l = listener(&la);
    *c = socket(AF_INET, SOCK_STREAM, 0);
    if (connect(*c, (struct sockaddr *)&la, sizeof la) < 0) {
        printf("connect: %s\n", en(errno));
        exit(1);
    }
    *s = accept(l, NULL, NULL);
    close(l);
}

static int intopt(int fd, int level, int name) {
    int v = -1;
    socklen_t len = sizeof v;
    if (getsockopt(fd, level, name, &v, &len) < 0)
        return -errno;
    return v;
}

static int wait_events(int fd, short events, int ms) {
    struct pollfd p = {fd, events, 0};
    if (poll(&p, 1, ms) != 1)
        return 0;
    return p.revents;
}

static long long now_ms(void) {
    struct timespec t;
    clock_gettime(CLOCK_MONOTONIC, &t);
    return t.tv_sec * 1000LL + t.tv_nsec / 1000000;
}

static uint64_t mix(uint64_t h, const unsigned char *p, size_t n) {
    for (size_t i = 0; i < n; i++)
        h = (h ^ p[i]) * 0x100000001b3ULL;
    return h;
}

static volatile int sigpipes;
static void on_sigpipe(int sig) {
    (void)sig;
    sigpipes++;
}

/* A forked server takes 1 MiB and answers its length and checksum. */
static void mebibyte(void) {
    struct sockaddr_in la;
    int l = listener(&la);
    pid_t child = fork();
    if (child == 0) {
        int s = accept(l, NULL, NULL);
        static unsigned char buf[65536];
        uint64_t h = 0xcbf29ce484222325ULL, total = 0;
        ssize_t n;
        while ((n = read(s, buf, sizeof buf)) > 0) {
            h = mix(h, buf, n);
            total += n;
        }
        uint64_t answer[2] = {total, h};
        write(s, answer, sizeof answer);
        close(s);
        _exit(0);
    }
    close(l);
    int c = socket(AF_INET, SOCK_STREAM, 0);
    printf("connect to the forked server: %s\n", ERR(connect(c, (struct sockaddr *)&la, sizeof la)));
    static unsigned char data[1 << 20];
    for (size_t i = 0; i < sizeof data; i++)
        data[i] = (unsigned char)((i * 2654435761u) >> 24);
    ssize_t n = write(c, data, sizeof data);
    printf("1 MiB in one write: %zd\n", n);
    shutdown(c, SHUT_WR);
    uint64_t answer[2] = {0, 0};
    size_t got = 0;
    while (got < sizeof answer && (n = read(c, (char *)answer + got, sizeof answer - got)) > 0)
        got += n;
    printf("the server counted %llu bytes, checksum matches: %s\n", (unsigned long long)answer[0],
           answer[1] == mix(0xcbf29ce484222325ULL, data, sizeof data) ? "yes" : "no");
    printf("then end of stream: %zd\n", read(c, data, 1));
    close(c);
    int status;
    waitpid(child, &status, 0);
    printf("server exit: %d\n", WEXITSTATUS(status));
}

static void names(void) {
    struct sockaddr_in la;
    int l = listener(&la);
    printf("listener: SO_ACCEPTCONN %d, port chosen: %s, address 127.0.0.1: %s\n",
           intopt(l, SOL_SOCKET, SO_ACCEPTCONN), la.sin_port ? "yes" : "no",
           la.sin_addr.s_addr == htonl(INADDR_LOOPBACK) ? "yes" : "no");
    int c = socket(AF_INET, SOCK_STREAM, 0);
    struct sockaddr_in before = name_of(c, 0);
    printf("unbound: port %d, address any: %s\n", ntohs(before.sin_port), before.sin_addr.s_addr == 0 ? "yes" : "no");
    connect(c, (struct sockaddr *)&la, sizeof la);
    printf("connect again: %s\n", ERR(connect(c, (struct sockaddr *)&la, sizeof la)));
    struct sockaddr_in peer;
    socklen_t plen = sizeof peer + 4;
    int s = accept(l, (struct sockaddr *)&peer, &plen);
    struct sockaddr_in cn = name_of(c, 0);
    printf("accept: peer length %u, is the client's name: %s\n", plen, same(peer, cn) ? "yes" : "no");
    printf("client's peer is the listener: %s; server's name is the listener's: %s; server's peer is the client: %s\n",
           same(name_of(c, 1), la) ? "yes" : "no", same(name_of(s, 0), la) ? "yes" : "no",
           same(name_of(s, 1), cn) ? "yes" : "no");
    printf("client's port is ephemeral: %s\n", ntohs(cn.sin_port) >= 1024 ? "yes" : "no");
    printf("SO_TYPE %d SO_PROTOCOL %d SO_DOMAIN %d\n", intopt(s, SOL_SOCKET, SO_TYPE),
           intopt(s, SOL_SOCKET, SO_PROTOCOL), intopt(s, SOL_SOCKET, SO_DOMAIN));
    printf("accepted: SO_ACCEPTCONN %d\n", intopt(s, SOL_SOCKET, SO_ACCEPTCONN));
    /* Data and FIONREAD. */
    write(c, "0123456789", 10);
    int ev = wait_events(s, POLLIN, 1000);
    int avail = -1;
    ioctl(s, FIONREAD, &avail);
    printf("POLLIN %s, FIONREAD %d\n", ev & POLLIN ? "yes" : "no", avail);
    char buf[32] = {0};
    printf("MSG_PEEK 3: %zd '%.3s'\n", recv(s, buf, 3, MSG_PEEK), buf);
    memset(buf, 0, sizeof buf);
    printf("recv 32: %zd '%s'\n", recv(s, buf, sizeof buf, 0), buf);
    printf("recv MSG_DONTWAIT on nothing: %s\n", ERR(recv(s, buf, sizeof buf, MSG_DONTWAIT)));
    /* The peer closes with data unread: a reset. */
    write(s, "unread", 6);
    wait_events(c, POLLIN, 1000);
    close(c);
    wait_events(s, POLLIN | POLLERR, 1000);
    ssize_t r = recv(s, buf, sizeof buf, 0);
    printf("after the peer closed with data unread: %s\n", r < 0 ? en(errno) : "data");
    close(s);
    /* SO_LINGER with a zero time: close resets. */
    tcp_pair(&c, &s);
    struct linger lg = {1, 0};
    setsockopt(c, SOL_SOCKET, SO_LINGER, &lg, sizeof lg);
    close(c);
    wait_events(s, POLLIN | POLLERR, 1000);
    r = recv(s, buf, sizeof buf, 0);
    printf("after the peer closed with SO_LINGER 0: %s\n", r < 0 ? en(errno) : "data");
    close(s);
    /* MSG_WAITALL waits for all; writev and readv gather and scatter. */
    tcp_pair(&c, &s);
    pid_t child = fork();
    if (child == 0) {
        write(c, "01234", 5);
        usleep(50000);
        struct iovec v[2] = {{"56", 2}, {"789", 3}};
        writev(c, v, 2);
        _exit(0);
    }
    memset(buf, 0, sizeof buf);
    printf("MSG_WAITALL of 10: %zd '%s'\n", recv(s, buf, 10, MSG_WAITALL), buf);
    waitpid(child, NULL, 0);
    write(c, "abcdef", 6);
    char x[3] = {0}, y[4] = {0};
    struct iovec rv[2] = {{x, 2}, {y, 3}};
    wait_events(s, POLLIN, 1000);
    printf("readv into 2+3: %zd '%s' '%s'\n", readv(s, rv, 2), x, y);
    close(c);
    close(s);
    close(l);
}

static void nonblocking(void) {
    struct sockaddr_in la;
    int l = listener(&la);
    fcntl(l, F_SETFL, O_NONBLOCK);
    printf("accept with none waiting: %s\n", ERR(accept(l, NULL, NULL)));
    int ep = epoll_create1(0);
    int c = socket(AF_INET, SOCK_STREAM | SOCK_NONBLOCK, 0);
    int r = connect(c, (struct sockaddr *)&la, sizeof la);
    printf("non-blocking connect: 0 or EINPROGRESS: %s\n", r == 0 || errno == EINPROGRESS ? "yes" : en(errno));
    struct epoll_event e = {.events = EPOLLOUT, .data.u32 = 7};
    epoll_ctl(ep, EPOLL_CTL_ADD, c, &e);
    struct epoll_event got[4];
    int n = epoll_wait(ep, got, 4, 2000);
    printf("epoll: %d event, EPOLLOUT %s, data %u\n", n, n > 0 && got[0].events & EPOLLOUT ? "yes" : "no",
           n > 0 ? got[0].data.u32 : 0);
    printf("SO_ERROR: %d\n", intopt(c, SOL_SOCKET, SO_ERROR));
    e.events = EPOLLIN;
    e.data.u32 = 8;
    epoll_ctl(ep, EPOLL_CTL_ADD, l, &e);
    n = epoll_wait(ep, got, 4, 2000);
    int in = 0;
    for (int i = 0; i < n; i++)
        in |= got[i].data.u32 == 8 && got[i].events & EPOLLIN;
    printf("listener readable in epoll: %s\n", in ? "yes" : "no");
    int s = accept4(l, NULL, NULL, SOCK_NONBLOCK);
    printf("accept4: %s, O_NONBLOCK %s\n", s >= 0 ? "ok" : en(errno), fcntl(s, F_GETFL) & O_NONBLOCK ? "yes" : "no");
    char buf[8];
    printf("read with nothing: %s\n", ERR(read(s, buf, sizeof buf)));
    close(s);
    close(c);
    close(l);
    close(ep);
}

static void refused(void) {
    /* A port nobody listens on: bound, then closed. */
    int t = socket(AF_INET, SOCK_STREAM, 0);
    struct sockaddr_in a = loopback(0);
    bind(t, (struct sockaddr *)&a, sizeof a);
    a = name_of(t, 0);
    close(t);
    int c = socket(AF_INET, SOCK_STREAM, 0);
    printf("blocking connect to a closed port: %s\n", ERR(connect(c, (struct sockaddr *)&a, sizeof a)));
    printf("SO_ERROR after it: %d\n", intopt(c, SOL_SOCKET, SO_ERROR));
    close(c);
    c = socket(AF_INET, SOCK_STREAM | SOCK_NONBLOCK, 0);
    int r = connect(c, (struct sockaddr *)&a, sizeof a);
    int err = r < 0 ? errno : 0;
    if (err == EINPROGRESS) {
        int ev = wait_events(c, POLLOUT, 2000);
        printf("non-blocking: POLLOUT %s, POLLERR %s\n", ev & POLLOUT ? "yes" : "no", ev & POLLERR ? "yes" : "no");
        err = intopt(c, SOL_SOCKET, SO_ERROR);
    } else {
        printf("non-blocking: POLLOUT yes, POLLERR yes\n");
    }
    printf("non-blocking connect to a closed port: %s\n", en(err));
    close(c);
}

static void in_use(void) {
    struct sockaddr_in la;
    int l = listener(&la);
    int b = socket(AF_INET, SOCK_STREAM, 0);
    printf("bind to a listener's port: %s\n", ERR(bind(b, (struct sockaddr *)&la, sizeof la)));
    int one = 1;
    setsockopt(b, SOL_SOCKET, SO_REUSEADDR, &one, sizeof one);
    printf("with SO_REUSEADDR too: %s\n", ERR(bind(b, (struct sockaddr *)&la, sizeof la)));
    struct sockaddr_in any = la;
    any.sin_addr.s_addr = htonl(INADDR_ANY);
    printf("on INADDR_ANY: %s\n", ERR(bind(b, (struct sockaddr *)&any, sizeof any)));
    struct sockaddr_in other = loopback(0);
    other.sin_addr.s_addr = inet_addr("192.0.2.1");
    printf("an address not ours: %s\n", ERR(bind(b, (struct sockaddr *)&other, sizeof other)));
    printf("a short address: %s\n", ERR(bind(b, (struct sockaddr *)&la, sizeof la - 1)));
    struct sockaddr_in fam = loopback(0);
    fam.sin_family = AF_INET6;
    printf("another family: %s\n", ERR(bind(b, (struct sockaddr *)&fam, sizeof fam)));
    struct sockaddr_in ok = loopback(0);
    printf("bind to port 0: %s", ERR(bind(b, (struct sockaddr *)&ok, sizeof ok)));
    printf("; again: %s\n", ERR(bind(b, (struct sockaddr *)&ok, sizeof ok)));
    close(b);
    close(l);
}

static void shutdowns(void) {
    int c, s;
    tcp_pair(&c, &s);
    write(c, "abc", 3);
    printf("shutdown SHUT_WR: %s\n", ERR(shutdown(c, SHUT_WR)));
    printf("shutdown 7: %s\n", ERR(shutdown(c, 7)));
    char buf[8] = {0};
    wait_events(s, POLLIN, 1000);
    ssize_t a = read(s, buf, sizeof buf);
    wait_events(s, POLLIN, 1000);
    ssize_t b = read(s, buf + 3, sizeof buf - 3);
    printf("peer reads: %zd '%.3s', then %zd\n", a, buf, b);
    int ev = wait_events(s, POLLIN | POLLRDHUP, 0);
    printf("peer's poll: POLLIN %s POLLRDHUP %s\n", ev & POLLIN ? "yes" : "no", ev & POLLRDHUP ? "yes" : "no");
    write(s, "xyz", 3);
    wait_events(c, POLLIN, 1000);
    memset(buf, 0, sizeof buf);
    printf("the other way: %zd '%s'\n", read(c, buf, sizeof buf), buf);
    printf("send after SHUT_WR with MSG_NOSIGNAL: %s\n", ERR(send(c, "x", 1, MSG_NOSIGNAL)));
    signal(SIGPIPE, on_sigpipe);
    printf("write after SHUT_WR: %s", ERR(write(c, "x", 1)));
    printf(", SIGPIPE %d\n", sigpipes);
    signal(SIGPIPE, SIG_DFL);
    close(c);
    close(s);
    int u = socket(AF_INET, SOCK_STREAM, 0);
    printf("shutdown unconnected: %s\n", ERR(shutdown(u, SHUT_RDWR)));
    close(u);
}

static void unconnected(void) {
    int t = socket(AF_INET, SOCK_STREAM, 0);
    char buf[4];
    printf("accept on a socket not listening: %s\n", ERR(accept(t, NULL, NULL)));
    printf("recv on an unconnected TCP socket: %s\n", ERR(recv(t, buf, sizeof buf, 0)));
    struct sockaddr_in a;
    socklen_t len = sizeof a;
    printf("getpeername unconnected: %s\n", ERR(getpeername(t, (struct sockaddr *)&a, &len)));
    printf("send unconnected (MSG_NOSIGNAL): %s\n", ERR(send(t, "x", 1, MSG_NOSIGNAL)));
    int ev = wait_events(t, POLLIN | POLLOUT, 0);
    printf("a fresh socket polls: POLLOUT %s POLLHUP %s POLLIN %s\n", ev & POLLOUT ? "yes" : "no",
           ev & POLLHUP ? "yes" : "no", ev & POLLIN ? "yes" : "no");
    close(t);
    printf("TCP over IPPROTO_UDP: %s\n", ERR(socket(AF_INET, SOCK_STREAM, IPPROTO_UDP)));
    int sv[2];
    printf("socketpair(AF_INET): %s\n", ERR(socketpair(AF_INET, SOCK_STREAM, 0, sv)));
    int u = socket(AF_INET, SOCK_DGRAM, 0);
    printf("listen on UDP: %s\n", ERR(listen(u, 1)));
    printf("accept on UDP: %s\n", ERR(accept(u, NULL, NULL)));
    close(u);
}

static void options(void) {
    int t = socket(AF_INET, SOCK_STREAM, 0);
    int one = 1;
    printf("TCP_NODELAY %d", intopt(t, IPPROTO_TCP, TCP_NODELAY));
    setsockopt(t, IPPROTO_TCP, TCP_NODELAY, &one, sizeof one);
    printf(" -> %d\n", intopt(t, IPPROTO_TCP, TCP_NODELAY));
    printf("SO_KEEPALIVE %d", intopt(t, SOL_SOCKET, SO_KEEPALIVE));
    setsockopt(t, SOL_SOCKET, SO_KEEPALIVE, &one, sizeof one);
    printf(" -> %d\n", intopt(t, SOL_SOCKET, SO_KEEPALIVE));
    printf("SO_REUSEADDR %d", intopt(t, SOL_SOCKET, SO_REUSEADDR));
    setsockopt(t, SOL_SOCKET, SO_REUSEADDR, &one, sizeof one);
    printf(" -> %d\n", intopt(t, SOL_SOCKET, SO_REUSEADDR));
    int v = 65536;
    setsockopt(t, SOL_SOCKET, SO_RCVBUF, &v, sizeof v);
    setsockopt(t, SOL_SOCKET, SO_SNDBUF, &v, sizeof v);
    printf("SO_RCVBUF and SO_SNDBUF set to 65536 read back doubled: %s %s\n",
           intopt(t, SOL_SOCKET, SO_RCVBUF) == 131072 ? "yes" : "no",
           intopt(t, SOL_SOCKET, SO_SNDBUF) == 131072 ? "yes" : "no");
    printf("TCP_NODELAY with a short length: %s\n", ERR(setsockopt(t, IPPROTO_TCP, TCP_NODELAY, &one, 2)));
    int u = socket(AF_INET, SOCK_DGRAM, 0);
    printf("UDP: TCP_NODELAY %s, SO_TYPE %d, SO_PROTOCOL %d, SO_BROADCAST %d", en(-intopt(u, IPPROTO_TCP, TCP_NODELAY)),
           intopt(u, SOL_SOCKET, SO_TYPE), intopt(u, SOL_SOCKET, SO_PROTOCOL), intopt(u, SOL_SOCKET, SO_BROADCAST));
    setsockopt(u, SOL_SOCKET, SO_BROADCAST, &one, sizeof one);
    printf(" -> %d\n", intopt(u, SOL_SOCKET, SO_BROADCAST));
    close(u);
    close(t);
}

static void udp(void) {
    int a = socket(AF_INET, SOCK_DGRAM, 0), b = socket(AF_INET, SOCK_DGRAM, 0);
    struct sockaddr_in aa = loopback(0);
    bind(a, (struct sockaddr *)&aa, sizeof aa);
    aa = name_of(a, 0);
    printf("UDP sendto from an unbound socket: %zd\n", sendto(b, "hello world", 11, 0, (struct sockaddr *)&aa, sizeof aa));
    struct sockaddr_in ba = name_of(b, 0);
    printf("the sender got a port: %s\n", ba.sin_port ? "yes" : "no");
    wait_events(a, POLLIN, 1000);
    int avail = -1;
    ioctl(a, FIONREAD, &avail);
    printf("FIONREAD: %d\n", avail);
    char buf[32] = {0};
    struct sockaddr_in from;
    socklen_t flen = sizeof from;
    ssize_t n = recvfrom(a, buf, 5, MSG_PEEK, (struct sockaddr *)&from, &flen);
    ba.sin_addr.s_addr = htonl(INADDR_LOOPBACK);
    printf("MSG_PEEK 5: %zd '%s', from the sender: %s, length %u\n", n, buf, same(from, ba) ? "yes" : "no", flen);
    printf("MSG_TRUNC into 5: %zd\n", recv(a, buf, 5, MSG_TRUNC | MSG_PEEK));
    struct iovec iov = {buf, 4};
    struct msghdr m = {.msg_iov = &iov, .msg_iovlen = 1};
    n = recvmsg(a, &m, 0);
    printf("recvmsg into 4: %zd, MSG_TRUNC %s\n", n, m.msg_flags & MSG_TRUNC ? "yes" : "no");
    printf("nothing left: %s\n", ERR(recv(a, buf, sizeof buf, MSG_DONTWAIT)));
    printf("send without a peer: %s\n", ERR(send(b, "x", 1, 0)));
    printf("connect: %s\n", ERR(connect(b, (struct sockaddr *)&aa, sizeof aa)));
    printf("peer is the receiver: %s\n", same(name_of(b, 1), aa) ? "yes" : "no");
    printf("send: %zd\n", send(b, "connected", 9, 0));
    wait_events(a, POLLIN, 1000);
    memset(buf, 0, sizeof buf);
    printf("received: %zd '%s'\n", recv(a, buf, sizeof buf, 0), buf);
    printf("an empty datagram: %zd", send(b, "", 0, 0));
    wait_events(a, POLLIN, 1000);
    printf(", received %zd\n", recv(a, buf, sizeof buf, 0));
    struct sockaddr unspec = {.sa_family = AF_UNSPEC};
    printf("connect AF_UNSPEC: %s\n", ERR(connect(b, &unspec, sizeof unspec)));
    printf("then getpeername: %s, send: %s\n", ERR(getpeername(b, (struct sockaddr *)&from, &flen)),
           ERR(send(b, "x", 1, 0)));
    /* SO_RCVTIMEO ends a wait. */
    struct timeval tv = {0, 60000};
    setsockopt(a, SOL_SOCKET, SO_RCVTIMEO, &tv, sizeof tv);
    long long t0 = now_ms();
    int r = recv(a, buf, sizeof buf, 0);
    printf("SO_RCVTIMEO: %s, waited >= 50 ms: %s\n", r < 0 ? en(errno) : "data", now_ms() - t0 >= 50 ? "yes" : "no");
    close(a);
    close(b);
}

static void interfaces(void) {
    int u = socket(AF_INET, SOCK_DGRAM, 0);
    struct ifreq r;
    memset(&r, 0, sizeof r);
    strcpy(r.ifr_name, "lo");
    printf("lo: SIOCGIFFLAGS %s", ERR(ioctl(u, SIOCGIFFLAGS, &r)));
    printf(", UP %s LOOPBACK %s RUNNING %s\n", r.ifr_flags & IFF_UP ? "yes" : "no",
           r.ifr_flags & IFF_LOOPBACK ? "yes" : "no", r.ifr_flags & IFF_RUNNING ? "yes" : "no");
    ioctl(u, SIOCGIFADDR, &r);
    printf("lo: address %s", inet_ntoa(((struct sockaddr_in *)&r.ifr_addr)->sin_addr));
    ioctl(u, SIOCGIFNETMASK, &r);
    printf(", netmask %s", inet_ntoa(((struct sockaddr_in *)&r.ifr_netmask)->sin_addr));
    ioctl(u, SIOCGIFMTU, &r);
    printf(", mtu %d", r.ifr_mtu);
    ioctl(u, SIOCGIFINDEX, &r);
    printf(", index %d\n", r.ifr_ifindex);
    memset(&r, 0, sizeof r);
    r.ifr_ifindex = 1;
    printf("index 1: %s %s\n", ERR(ioctl(u, SIOCGIFNAME, &r)), r.ifr_name);
    strcpy(r.ifr_name, "nosuchif0");
    printf("an interface that does not exist: %s\n", ERR(ioctl(u, SIOCGIFFLAGS, &r)));
    struct ifreq list[16];
    struct ifconf conf = {.ifc_len = sizeof list, .ifc_req = list};
    ioctl(u, SIOCGIFCONF, &conf);
    int lo = 0;
    for (int i = 0; i < conf.ifc_len / (int)sizeof(struct ifreq); i++)
        lo |= !strcmp(list[i].ifr_name, "lo");
    printf("SIOCGIFCONF lists lo: %s\n", lo ? "yes" : "no");
    close(u);
    FILE *f = fopen("/proc/net/dev", "r");
    char line[512];
    int found = 0;
    while (f && fgets(line, sizeof line, f))
        found |= strstr(line, "lo:") != NULL;
    printf("/proc/net/dev lists lo: %s\n", found ? "yes" : "no");
    if (f)
        fclose(f);
}

int main(void) {
    setvbuf(stdout, NULL, _IONBF, 0);
    mebibyte();
    names();
    nonblocking();
    refused();
    in_use();
    shutdowns();
    unconnected();
    options();
    udp();
    interfaces();
    printf("inet done\n");
    return 0;
}
