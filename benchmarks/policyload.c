/*
 * policyload: a Postfix policy-protocol load generator, and a trivial policy server to measure
 * its own ceiling. Compiled at run time by benchmarks/bench_policy.py (cc -O2).
 *
 *   policyload client HOST PORT CONNS SECONDS WARMUP USERS
 *       CONNS persistent connections (like CONNS busy smtpd processes), each a closed loop:
 *       send one request, wait for its answer, send the next. Requests are realistic DATA
 *       requests (smtpd_data_restrictions: one per message) of Postfix 3.7 (28 attributes,
 *       ~600 bytes), each a new message (instance) of one of USERS accounts. Prints one JSON line: answers counted
 *       after WARMUP seconds, their rate, p50/p99/max latency, and answers by action.
 *   policyload serve PORT
 *       answers "action=DUNNO" to every request without looking at it (the client's ceiling).
 */
#define _GNU_SOURCE
#include <arpa/inet.h>
#include <errno.h>
#include <fcntl.h>
#include <netinet/in.h>
#include <netinet/tcp.h>
#include <stdint.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <strings.h>
#include <sys/epoll.h>
#include <sys/socket.h>
#include <time.h>
#include <unistd.h>

#define MAX_EVENTS 256
#define BUF 8192

static double now_s(void) {
    struct timespec ts;
    clock_gettime(CLOCK_MONOTONIC, &ts);
    return ts.tv_sec + ts.tv_nsec / 1e9;
}

static void nonblock(int fd) { fcntl(fd, F_SETFL, fcntl(fd, F_GETFL) | O_NONBLOCK); }

struct conn {
    int fd;
    unsigned long seq;
    double sent;
    char buf[BUF];
    size_t len;
};

static int cmp_u32(const void *a, const void *b) {
    uint32_t x = *(const uint32_t *)a, y = *(const uint32_t *)b;
    return x < y ? -1 : x > y;
}

static int build_request(char *out, size_t cap, int conn, unsigned long seq, int users) {
    int user = (int)((conn * 7919UL + seq) % (unsigned long)users);
    return snprintf(out, cap,
        "request=smtpd_access_policy\nprotocol_state=DATA\nprotocol_name=ESMTP\n"
        "client_address=192.0.2.%d\nclient_name=unknown\nclient_port=%d\nreverse_client_name=unknown\n"
        "server_address=127.0.0.1\nserver_port=587\nhelo_name=client%d.example.test\n"
        "sender=user%d@example.test\nrecipient=bob@example.org\nrecipient_count=1\nqueue_id=4B%07lX\n"
        "instance=%d.%lx.0\nsize=2048\netrn_domain=\nstress=\nsasl_method=PLAIN\n"
        "sasl_username=user%d@example.test\nsasl_sender=\nccert_subject=\nccert_issuer=\n"
        "ccert_fingerprint=\nccert_pubkey_fingerprint=\nencryption_protocol=TLSv1.3\n"
        "encryption_cipher=TLS_AES_256_GCM_SHA384\nencryption_keysize=256\npolicy_context=\n\n",
        user % 250 + 1, 30000 + conn, user, user, seq & 0xfffffff, conn, seq, user);
}

static int client(const char *host, int port, int nconn, double seconds, double warmup, int users) {
    struct sockaddr_in addr = {.sin_family = AF_INET, .sin_port = htons(port)};
    inet_pton(AF_INET, host, &addr.sin_addr);
    int ep = epoll_create1(0);
    struct conn *conns = calloc(nconn, sizeof *conns);
    size_t cap = 50 * 1000 * 1000;
    uint32_t *lat = malloc(cap * sizeof *lat);
    size_t n = 0;
    unsigned long dunno = 0, other = 0, errors = 0;
    char req[2048];
    for (int i = 0; i < nconn; i++) {
        int fd = socket(AF_INET, SOCK_STREAM, 0);
        if (connect(fd, (struct sockaddr *)&addr, sizeof addr) < 0) { perror("connect"); return 1; }
        int one = 1;
        setsockopt(fd, IPPROTO_TCP, TCP_NODELAY, &one, sizeof one);
        nonblock(fd);
        conns[i].fd = fd;
        struct epoll_event ev = {.events = EPOLLIN, .data.u32 = (uint32_t)i};
        epoll_ctl(ep, EPOLL_CTL_ADD, fd, &ev);
    }
    double start = now_s(), measure_from = start + warmup, end = measure_from + seconds;
    for (int i = 0; i < nconn; i++) {
        int len = build_request(req, sizeof req, i, conns[i].seq, users);
        conns[i].sent = now_s();
        if (write(conns[i].fd, req, len) != len) { perror("write"); return 1; }
    }
    struct epoll_event events[MAX_EVENTS];
    double t = start;
    while (t < end) {
        int ready = epoll_wait(ep, events, MAX_EVENTS, 100);
        t = now_s();
        for (int e = 0; e < ready; e++) {
            struct conn *c = &conns[events[e].data.u32];
            ssize_t got = read(c->fd, c->buf + c->len, BUF - 1 - c->len);
            if (got <= 0) {
                if (got < 0 && errno == EAGAIN) continue;
                errors++;
                epoll_ctl(ep, EPOLL_CTL_DEL, c->fd, NULL);
                close(c->fd);
                continue;
            }
            c->len += got;
            c->buf[c->len] = 0;
            char *endp = strstr(c->buf, "\n\n");
            if (!endp) continue;
            if (t >= measure_from && n < cap) {
                lat[n++] = (uint32_t)((t - c->sent) * 1e6);
                if (strncasecmp(c->buf, "action=DUNNO", 12) == 0) dunno++; else other++;
            }
            size_t used = (size_t)(endp + 2 - c->buf);
            memmove(c->buf, c->buf + used, c->len - used);
            c->len -= used;
            c->seq++;
            int len = build_request(req, sizeof req, events[e].data.u32, c->seq, users);
            c->sent = t;
            if (write(c->fd, req, len) != len) { errors++; }
        }
    }
    double elapsed = t - measure_from;
    qsort(lat, n, sizeof *lat, cmp_u32);
    printf("{\"answers\": %zu, \"seconds\": %.3f, \"rate\": %.1f, \"p50_us\": %u, \"p99_us\": %u, "
           "\"max_us\": %u, \"dunno\": %lu, \"other\": %lu, \"errors\": %lu, \"connections\": %d}\n",
           n, elapsed, n / elapsed, n ? lat[n / 2] : 0, n ? lat[(size_t)(n * 0.99)] : 0,
           n ? lat[n - 1] : 0, dunno, other, errors, nconn);
    return 0;
}

static int serve(int port) {
    static const char reply[] = "action=DUNNO\n\n";
    int ls = socket(AF_INET, SOCK_STREAM, 0), one = 1;
    setsockopt(ls, SOL_SOCKET, SO_REUSEADDR, &one, sizeof one);
    struct sockaddr_in addr = {.sin_family = AF_INET, .sin_port = htons(port)};
    inet_pton(AF_INET, "127.0.0.1", &addr.sin_addr);
    if (bind(ls, (struct sockaddr *)&addr, sizeof addr) < 0 || listen(ls, 1024) < 0) { perror("bind"); return 1; }
    int ep = epoll_create1(0);
    struct epoll_event ev = {.events = EPOLLIN, .data.fd = ls};
    epoll_ctl(ep, EPOLL_CTL_ADD, ls, &ev);
    static char last[65536];  /* per fd: was the previous chunk's last byte a newline? */
    char buf[BUF];
    struct epoll_event events[MAX_EVENTS];
    printf("listening\n");
    fflush(stdout);
    for (;;) {
        int ready = epoll_wait(ep, events, MAX_EVENTS, -1);
        for (int e = 0; e < ready; e++) {
            int fd = events[e].data.fd;
            if (fd == ls) {
                int c = accept(ls, NULL, NULL);
                if (c < 0) continue;
                nonblock(c);
                setsockopt(c, IPPROTO_TCP, TCP_NODELAY, &one, sizeof one);
                struct epoll_event cev = {.events = EPOLLIN, .data.fd = c};
                epoll_ctl(ep, EPOLL_CTL_ADD, c, &cev);
                last[c] = 0;
                continue;
            }
            ssize_t got = read(fd, buf, sizeof buf);
            if (got <= 0) { close(fd); continue; }
            for (ssize_t i = 0; i < got; i++) {
                if (buf[i] == '\n' && last[fd]) {
                    if (write(fd, reply, sizeof reply - 1) < 0) break;
                    last[fd] = 0;
                } else {
                    last[fd] = buf[i] == '\n';
                }
            }
        }
    }
}

int main(int argc, char **argv) {
    if (argc == 8 && strcmp(argv[1], "client") == 0)
        return client(argv[2], atoi(argv[3]), atoi(argv[4]), atof(argv[5]), atof(argv[6]), atoi(argv[7]));
    if (argc == 3 && strcmp(argv[1], "serve") == 0)
        return serve(atoi(argv[2]));
    fprintf(stderr, "usage: policyload client HOST PORT CONNS SECONDS WARMUP USERS | policyload serve PORT\n");
    return 2;
}
