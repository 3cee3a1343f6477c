/* A TCP or UDP echo server for the network tests, run by the host-side
 * peers of tests/system.py (through QEMU's port forwards):
 *   netecho tcp PORT N   serve N connections one after another, echoing
 *                        each until the peer shuts its side; print the bytes
 *   netecho udp PORT N   echo N datagrams back to their senders
 * It says "listening" once the socket listens, so the host knows when to
 * connect. */
#include <arpa/inet.h>
#include <errno.h>
#include <netinet/in.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/socket.h>
#include <unistd.h>

static void die(const char *what) {
    printf("%s: %s\n", what, strerror(errno));
    exit(1);
}

static char buf[65536];

int main(int argc, char **argv) {
    if (argc != 4)
        return 2;
    int udp = strcmp(argv[1], "udp") == 0;
    int port = atoi(argv[2]), n = atoi(argv[3]);
    int s = socket(AF_INET, udp ? SOCK_DGRAM : SOCK_STREAM, 0);
    if (s < 0)
        die("socket");
    int one = 1;
    setsockopt(s, SOL_SOCKET, SO_REUSEADDR, &one, sizeof one);
    struct sockaddr_in a = {.sin_family = AF_INET, .sin_port = htons(port), .sin_addr.s_addr = htonl(INADDR_ANY)};
    if (bind(s, (struct sockaddr *)&a, sizeof a))
        die("bind");
    if (!udp && listen(s, 4))
        die("listen");
    printf("listening\n");
    fflush(stdout);
    for (int i = 0; i < n; i++) {
        if (udp) {
            struct sockaddr_in from;
            socklen_t fl = sizeof from;
            ssize_t r = recvfrom(s, buf, sizeof buf, 0, (struct sockaddr *)&from, &fl);
            if (r < 0)
                die("recvfrom");
            if (sendto(s, buf, r, 0, (struct sockaddr *)&from, fl) != r)
                die("sendto");
            printf("datagram %d: %zd bytes\n", i + 1, r);
            continue;
        }
        int c = accept(s, NULL, NULL);
        if (c < 0)
            die("accept");
        long total = 0;
        for (;;) {
            ssize_t r = read(c, buf, sizeof buf);
            if (r < 0)
                die("read");
            if (r == 0)
                break;
            for (ssize_t off = 0; off < r;) {
                ssize_t w = write(c, buf + off, r - off);
                if (w < 0)
                    die("write");
                off += w;
            }
            total += r;
        }
        close(c);
        printf("connection %d: echoed %ld bytes\n", i + 1, total);
    }
    close(s);
    return 0;
}
