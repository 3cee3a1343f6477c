/* Selkie's benchmark suite: one static binary run unchanged under Selkie and
 * under Linux in the same QEMU (scripts/bench.py). Each benchmark repeats
 * its operation until enough time has passed and prints one line:
 *   BENCH <name> <value> <unit>
 * Units: ns (time per operation; less is better), MB/s (more is better).
 * No threshold is checked anywhere: the numbers are the output.
 * Usage: bench [port=P] [name...]  (no name: every benchmark)
 *        bench nop        (exits at once: the exec benchmarks' target)
 * The TCP benchmarks need a peer on the host (scripts/bench.py): a server at
 * 10.0.2.2:P that takes what comes until the end and then closes, and a
 * client that, once this prints "BENCH-LISTENING", connects to port 5555
 * (forwarded by QEMU) and sends TCP_MB MiB; without port=P they are skipped. */
#define _GNU_SOURCE
#include <arpa/inet.h>
#include <fcntl.h>
#include <netinet/in.h>
#include <netinet/tcp.h>
#include <sys/socket.h>
#include <linux/futex.h>
#include <pthread.h>
#include <stdatomic.h>
#include <stdint.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/mman.h>
#include <sys/stat.h>
#include <sys/syscall.h>
#include <sys/wait.h>
#include <time.h>
#include <unistd.h>

static const char *self = "/tests/bench";
/* Each measurement runs for at least this long (and at least a few rounds). */
static const double MIN_SECONDS = 0.3;

static double now(void) {
    struct timespec ts;
    clock_gettime(CLOCK_MONOTONIC, &ts);
    return ts.tv_sec + ts.tv_nsec / 1e9;
}

static void report(const char *name, double value, const char *unit) {
    printf("BENCH %s %.1f %s\n", name, value, unit);
    fflush(stdout);
}

static void die(const char *what) {
    perror(what);
    exit(1);
}

/* Runs op(n) with growing n until it takes MIN_SECONDS; reports ns per unit
 * of work (op returns how many units it did: operations, pages, ...). */
static void per_op(const char *name, long (*op)(long)) {
    long n = 1;
    for (;;) {
        double t0 = now();
        long units = op(n);
        double dt = now() - t0;
        if (dt >= MIN_SECONDS || n >= (1L << 30)) {
            report(name, dt * 1e9 / (units > 0 ? units : 1), "ns");
            return;
        }
        n = dt < MIN_SECONDS / 16 ? n * 8 : n * 2;
    }
}

static long op_getpid(long n) {
    for (long i = 0; i < n; i++)
        syscall(SYS_getpid);
    return n;
}

static long op_clock(long n) {
    struct timespec ts;
    for (long i = 0; i < n; i++)
        clock_gettime(CLOCK_MONOTONIC, &ts);
    return n;
}

static long op_open_close(long n) {
    for (long i = 0; i < n; i++) {
        int fd = open("/tmp/bench.file", O_RDONLY);
        if (fd < 0)
            die("open");
        close(fd);
    }
    return n;
}

static long op_stat(long n) {
    struct stat st;
    for (long i = 0; i < n; i++)
        if (stat("/tmp/bench.file", &st))
            die("stat");
    return n;
}

static char buf[65536];

static long rw(long n, size_t size, int writing) {
    int fd = open("/tmp/bench.file", O_RDWR);
    if (fd < 0)
        die("open");
    for (long i = 0; i < n; i++) {
        ssize_t r = writing ? pwrite(fd, buf, size, 0) : pread(fd, buf, size, 0);
        if (r != (ssize_t)size)
            die(writing ? "pwrite" : "pread");
    }
    close(fd);
    return n;
}
static long op_read4k(long n) { return rw(n, 4096, 0); }
static long op_write4k(long n) { return rw(n, 4096, 1); }
static long op_read64k(long n) { return rw(n, 65536, 0); }
static long op_write64k(long n) { return rw(n, 65536, 1); }

/* One byte back and forth between two processes over two pipes. */
static long op_pipe_pingpong(long n) {
    int a[2], b[2];
    if (pipe(a) || pipe(b))
        die("pipe");
    pid_t c = fork();
    if (c == 0) {
        char x;
        for (long i = 0; i < n; i++) {
            if (read(a[0], &x, 1) != 1 || write(b[1], &x, 1) != 1)
                _exit(1);
        }
        _exit(0);
    }
    char x = 'x';
    for (long i = 0; i < n; i++) {
        if (write(a[1], &x, 1) != 1 || read(b[0], &x, 1) != 1)
            die("ping-pong");
    }
    waitpid(c, NULL, 0);
    close(a[0]), close(a[1]), close(b[0]), close(b[1]);
    return n;
}

static void pipe_bandwidth(void) {
    long total = 4L << 20;
    for (;;) {
        int p[2];
        if (pipe(p))
            die("pipe");
        double t0 = now();
        pid_t c = fork();
        if (c == 0) {
            close(p[0]);
            for (long done = 0; done < total; done += sizeof buf)
                if (write(p[1], buf, sizeof buf) != (ssize_t)sizeof buf)
                    _exit(1);
            _exit(0);
        }
        close(p[1]);
        long got = 0;
        ssize_t r;
        while ((r = read(p[0], buf, sizeof buf)) > 0)
            got += r;
        close(p[0]);
        waitpid(c, NULL, 0);
        double dt = now() - t0;
        if (got != total)
            die("pipe bandwidth: short read");
        if (dt >= MIN_SECONDS || total >= (1L << 30)) {
            report("pipe_bandwidth", total / dt / 1e6, "MB/s");
            return;
        }
        total *= 2;
    }
}

static long op_fork(long n) {
    for (long i = 0; i < n; i++) {
        pid_t c = fork();
        if (c < 0)
            die("fork");
        if (c == 0)
            _exit(0);
        waitpid(c, NULL, 0);
    }
    return n;
}

static long spawn(long n, int use_vfork) {
    char *argv[] = {(char *)self, "nop", NULL};
    char *envp[] = {NULL};
    for (long i = 0; i < n; i++) {
        pid_t c = use_vfork ? vfork() : fork();
        if (c < 0)
            die("fork");
        if (c == 0) {
            execve(self, argv, envp);
            _exit(127);
        }
        int st;
        waitpid(c, &st, 0);
        if (!WIFEXITED(st) || WEXITSTATUS(st) != 0)
            die("exec");
    }
    return n;
}
static long op_fork_exec(long n) { return spawn(n, 0); }
static long op_vfork_exec(long n) { return spawn(n, 1); }

static void *nothing(void *arg) { return arg; }

static long op_thread(long n) {
    for (long i = 0; i < n; i++) {
        pthread_t t;
        if (pthread_create(&t, NULL, nothing, NULL))
            die("pthread_create");
        pthread_join(t, NULL);
    }
    return n;
}

/* Two threads hand a token back and forth through one futex word. */
static atomic_int token;
static long rounds;

static void futex_wait(atomic_int *w, int v) { syscall(SYS_futex, w, FUTEX_WAIT_PRIVATE, v, NULL, NULL, 0); }
static void futex_wake(atomic_int *w) { syscall(SYS_futex, w, FUTEX_WAKE_PRIVATE, 1, NULL, NULL, 0); }

static void *futex_partner(void *arg) {
    (void)arg;
    for (long i = 0; i < rounds; i++) {
        while (atomic_load(&token) != 1)
            futex_wait(&token, 0);
        atomic_store(&token, 0);
        futex_wake(&token);
    }
    return NULL;
}

static long op_futex(long n) {
    rounds = n;
    atomic_store(&token, 0);
    pthread_t t;
    if (pthread_create(&t, NULL, futex_partner, NULL))
        die("pthread_create");
    for (long i = 0; i < n; i++) {
        atomic_store(&token, 1);
        futex_wake(&token);
        while (atomic_load(&token) != 0)
            futex_wait(&token, 1);
    }
    pthread_join(t, NULL);
    return n;
}

/* Pages per round in the memory benchmarks (4 MiB). */
#define PAGES 1024

static long op_mmap_touch(long n) {
    for (long i = 0; i < n; i++) {
        char *m = mmap(NULL, PAGES * 4096L, PROT_READ | PROT_WRITE, MAP_PRIVATE | MAP_ANONYMOUS, -1, 0);
        if (m == MAP_FAILED)
            die("mmap");
        for (long p = 0; p < PAGES; p++)
            m[p * 4096] = 1;
        munmap(m, PAGES * 4096L);
    }
    return n * PAGES;
}

/* The child of a fork writes every page of a touched 4 MiB area: one
 * copy-on-write fault per page; the child times itself. */
static void cow_fault(void) {
    char *m = mmap(NULL, PAGES * 4096L, PROT_READ | PROT_WRITE, MAP_PRIVATE | MAP_ANONYMOUS, -1, 0);
    if (m == MAP_FAILED)
        die("mmap");
    memset(m, 1, PAGES * 4096L);
    double total = 0;
    long pages = 0;
    while (total < MIN_SECONDS) {
        int p[2];
        if (pipe(p))
            die("pipe");
        pid_t c = fork();
        if (c == 0) {
            double t0 = now();
            for (long i = 0; i < PAGES; i++)
                m[i * 4096] = 2;
            double dt = now() - t0;
            write(p[1], &dt, sizeof dt);
            _exit(0);
        }
        double dt = 0;
        if (read(p[0], &dt, sizeof dt) != sizeof dt)
            die("cow child");
        waitpid(c, NULL, 0);
        close(p[0]), close(p[1]);
        total += dt;
        pages += PAGES;
    }
    munmap(m, PAGES * 4096L);
    report("cow_fault_per_page", total * 1e9 / pages, "ns");
}

/* A busybox shell loop of pipelines, per iteration. */
static long op_shell(long n) {
    char script[256];
    snprintf(script, sizeof script,
             "i=0; while [ $i -lt %ld ]; do echo hello | cat | wc -c >/dev/null; i=$((i+1)); done", n);
    pid_t c = fork();
    if (c == 0) {
        execl("/bin/sh", "sh", "-c", script, (char *)NULL);
        _exit(127);
    }
    int st;
    waitpid(c, &st, 0);
    if (!WIFEXITED(st) || WEXITSTATUS(st) != 0)
        die("shell loop");
    return n;
}

/* The host's peer (bench.py): its server's port; 0 without one. */
static int host_port;
/* MiB each TCP bandwidth benchmark moves. */
#define TCP_MB 16

static int connect_host(void) {
    int s = socket(AF_INET, SOCK_STREAM, 0);
    if (s < 0)
        die("socket");
    struct sockaddr_in a = {.sin_family = AF_INET, .sin_port = htons(host_port)};
    inet_pton(AF_INET, "10.0.2.2", &a.sin_addr);
    if (connect(s, (struct sockaddr *)&a, sizeof a))
        die("connect to the host");
    return s;
}

/* Guest to host: TCP_MB MiB to the host's server, which closes once it has
 * had everything (the time includes that last round trip). */
static void tcp_to_host(void) {
    static char chunk[65536];
    int s = connect_host();
    double t0 = now();
    for (long sent = 0; sent < (long)TCP_MB << 20;) {
        ssize_t w = write(s, chunk, sizeof chunk);
        if (w <= 0)
            die("write to the host");
        sent += w;
    }
    shutdown(s, SHUT_WR);
    char c;
    while (read(s, &c, 1) > 0)
        ;
    double dt = now() - t0;
    close(s);
    report("tcp_guest_to_host", TCP_MB / dt, "MB/s");
}

/* Host to guest: the host's client sends TCP_MB MiB to port 5555. */
static void tcp_from_host(void) {
    static char chunk[65536];
    int l = socket(AF_INET, SOCK_STREAM, 0), one = 1;
    setsockopt(l, SOL_SOCKET, SO_REUSEADDR, &one, sizeof one);
    struct sockaddr_in a = {.sin_family = AF_INET, .sin_port = htons(5555), .sin_addr.s_addr = htonl(INADDR_ANY)};
    if (bind(l, (struct sockaddr *)&a, sizeof a) || listen(l, 1))
        die("listen on 5555");
    puts("BENCH-LISTENING");
    fflush(stdout);
    int c = accept(l, NULL, NULL);
    if (c < 0)
        die("accept");
    long got = 0;
    double t0 = 0;
    for (;;) {
        ssize_t r = read(c, chunk, sizeof chunk);
        if (r < 0)
            die("read from the host");
        if (r == 0)
            break;
        if (!got)
            t0 = now();
        got += r;
    }
    double dt = now() - t0;
    close(c);
    close(l);
    if (got != (long)TCP_MB << 20)
        die("short transfer from the host");
    report("tcp_host_to_guest", TCP_MB / dt, "MB/s");
}

/* Connections to the host's server: connect, close, the server's close. */
static long op_tcp_connect(long n) {
    for (long i = 0; i < n; i++) {
        int s = connect_host();
        shutdown(s, SHUT_WR);
        char c;
        while (read(s, &c, 1) > 0)
            ;
        close(s);
    }
    return n;
}

static void tcp_connect(void) {
    per_op("tcp_connect_close", op_tcp_connect);
}

struct bench {
    const char *name;
    long (*op)(long);
    void (*run)(void);
    /* Needs the host's peer. */
    int host;
};

static const struct bench all[] = {
    {"getpid", op_getpid, NULL},
    {"clock_gettime", op_clock, NULL},
    {"open_close", op_open_close, NULL},
    {"stat", op_stat, NULL},
    {"read_4k", op_read4k, NULL},
    {"write_4k", op_write4k, NULL},
    {"read_64k", op_read64k, NULL},
    {"write_64k", op_write64k, NULL},
    {"pipe_pingpong", op_pipe_pingpong, NULL},
    {"pipe_bandwidth", NULL, pipe_bandwidth},
    {"fork_exit_wait", op_fork, NULL},
    {"fork_exec_wait", op_fork_exec, NULL},
    {"vfork_exec_wait", op_vfork_exec, NULL},
    {"thread_create_join", op_thread, NULL},
    {"futex_pingpong", op_futex, NULL},
    {"mmap_touch_per_page", op_mmap_touch, NULL},
    {"cow_fault_per_page", NULL, cow_fault},
    {"shell_pipeline_loop", op_shell, NULL},
    {"tcp_guest_to_host", NULL, tcp_to_host, 1},
    {"tcp_host_to_guest", NULL, tcp_from_host, 1},
    {"tcp_connect_close", NULL, tcp_connect, 1},
};

int main(int argc, char **argv) {
    if (argc > 1 && strcmp(argv[1], "nop") == 0)
        return 0;
    if (argv[0][0] == '/')
        self = argv[0];
    int fd = open("/tmp/bench.file", O_RDWR | O_CREAT | O_TRUNC, 0644);
    if (fd < 0 || write(fd, buf, sizeof buf) != sizeof buf)
        die("/tmp/bench.file");
    close(fd);
    int named = 0;
    for (int a = 1; a < argc; a++) {
        if (strncmp(argv[a], "port=", 5) == 0)
            host_port = atoi(argv[a] + 5);
        else
            named = 1;
    }
    for (size_t i = 0; i < sizeof all / sizeof all[0]; i++) {
        int wanted = !named;
        for (int a = 1; a < argc; a++)
            wanted |= strcmp(argv[a], all[i].name) == 0;
        if (!wanted || (all[i].host && !host_port))
            continue;
        if (all[i].op)
            per_op(all[i].name, all[i].op);
        else
            all[i].run();
    }
    unlink("/tmp/bench.file");
    puts("BENCH done");
    return 0;
}
