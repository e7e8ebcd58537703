/*
 * epoll-client: a single-threaded WebSocket load generator for build/bench.sh (see build/bench/README.md).
 *
 * One thread, one epoll set, non-blocking sockets, level-triggered events. The point is to cost the machine less
 * than the server it measures, so the numbers are the server's: no allocation after the connections are open,
 * client frames built (and masked) once, one read per readable socket per wake-up (looping only while the read
 * fills the buffer), one send per batch.
 *
 * Both modes share the connection code: non-blocking connects in bounded batches, a hand-written RFC 6455
 * upgrade (101 and Sec-WebSocket-Accept checked), and a streaming frame parser that counts whole messages per
 * connection without buffering payloads (only control-frame payloads, at most 125 bytes, are kept, to answer
 * pings).
 *
 *   broadcast  1 publisher + N subscribers. Per round the publisher sends one masked binary message; the server
 *              is expected to send it to every other connection. The round ends when the LAST subscriber has
 *              the whole message; time-to-last is measured from just before the publisher's send.
 *   echo       N connections x W messages in flight; every completed echo is re-sent, one send per connection
 *              per batch of completions. Latency per message from a ring of send timestamps (echoes come back
 *              in order).
 *
 * CPU: the server's utime+stime from /proc/<pid>/stat (--server-pid) and this process's from getrusage, both
 * taken around the measured window and divided by the messages delivered in it.
 *
 * Output: human-readable lines on stderr, one machine-readable "RESULT key=value ..." line on stdout.
 * Exit status: 0 on success, 1 on a failed run (connect/upgrade failure, timeout, protocol error), 2 on usage.
 *
 * Build: gcc -O2 -Wall -Wextra -o epoll-client epoll-client.c
 */
#define _GNU_SOURCE
#include <arpa/inet.h>
#include <errno.h>
#include <fcntl.h>
#include <netinet/in.h>
#include <netinet/tcp.h>
#include <signal.h>
#include <stdarg.h>
#include <stdint.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/epoll.h>
#include <sys/resource.h>
#include <sys/socket.h>
#include <sys/time.h>
#include <time.h>
#include <unistd.h>

/* ---------------------------------------------------------------- options */

enum mode { MODE_BROADCAST, MODE_ECHO };

static struct {
    enum mode mode;
    const char *host;
    int port;
    const char *path;
    int conns;            /* broadcast: subscribers (plus one publisher); echo: connections */
    int size;             /* payload bytes */
    int text;             /* echo: text frames (valid UTF-8, mixed 1- and 2-byte) instead of binary */
    int raw;              /* no HTTP upgrade: frames from the first byte (a raw TCP echo as the ceiling) */
    int window;           /* echo: messages in flight per connection */
    int rounds;           /* broadcast: measured rounds */
    int warmup_rounds;    /* broadcast: unmeasured rounds first */
    double warmup_s;      /* echo */
    double duration_s;    /* echo */
    double round_timeout_s;
    double connect_timeout_s;
    int batch;            /* connects/upgrades in progress at once */
    int server_pid;       /* 0: no server CPU */
    const char *label;
} opt = {
    .mode = MODE_BROADCAST, .host = "127.0.0.1", .port = 0, .path = "/", .conns = 1000, .size = 64,
    .window = 16, .rounds = 100, .warmup_rounds = 10, .warmup_s = 1, .duration_s = 3,
    .round_timeout_s = 30, .connect_timeout_s = 120, .batch = 256, .label = "",
};

static void die(const char *fmt, ...) __attribute__((noreturn, format(printf, 1, 2)));
static void die(const char *fmt, ...)
{
    va_list ap;
    va_start(ap, fmt);
    fprintf(stderr, "epoll-client: ");
    vfprintf(stderr, fmt, ap);
    fprintf(stderr, "\n");
    va_end(ap);
    exit(1);
}

static void usage(void)
{
    fprintf(stderr,
            "usage: epoll-client broadcast|echo --port P [--host 127.0.0.1] [--path /] [--conns N] [--size BYTES]\n"
            "         [--server-pid PID] [--label NAME] [--batch 256] [--connect-timeout S]\n"
            "  broadcast: [--rounds 100] [--warmup-rounds 10] [--round-timeout S]\n"
            "  echo:      [--window 16] [--warmup S] [--duration S] [--text] [--raw (no upgrade: raw TCP echo)]\n");
    exit(2);
}

/* ---------------------------------------------------------------- time and CPU */

static inline uint64_t now_ns(void)
{
    struct timespec ts;
    clock_gettime(CLOCK_MONOTONIC, &ts);
    return (uint64_t)ts.tv_sec * 1000000000u + (uint64_t)ts.tv_nsec;
}

static double self_cpu_s(void)
{
    struct rusage ru;
    getrusage(RUSAGE_SELF, &ru);
    return ru.ru_utime.tv_sec + ru.ru_utime.tv_usec / 1e6 + ru.ru_stime.tv_sec + ru.ru_stime.tv_usec / 1e6;
}

/* utime+stime of a process from /proc/<pid>/stat, in seconds (clock-tick resolution); -1 when unreadable. */
static double proc_cpu_s(int pid)
{
    if (pid <= 0)
        return -1;
    char path[64], buf[1024];
    snprintf(path, sizeof path, "/proc/%d/stat", pid);
    FILE *f = fopen(path, "r");
    if (!f)
        return -1;
    size_t n = fread(buf, 1, sizeof buf - 1, f);
    fclose(f);
    buf[n] = 0;
    /* The command name (field 2) may contain spaces and parentheses: fields are counted after the last ')'. */
    char *p = strrchr(buf, ')');
    if (!p)
        return -1;
    unsigned long long utime = 0, stime = 0;
    /* after ")": state(3) ppid(4) ... utime(14) stime(15) */
    if (sscanf(p + 2, "%*c %*d %*d %*d %*d %*d %*u %*u %*u %*u %*u %llu %llu", &utime, &stime) != 2)
        return -1;
    return (double)(utime + stime) / (double)sysconf(_SC_CLK_TCK);
}

/* ---------------------------------------------------------------- SHA-1 and base64 (Sec-WebSocket-Accept) */

static uint32_t rol(uint32_t x, int n) { return (x << n) | (x >> (32 - n)); }

static void sha1(const uint8_t *data, size_t len, uint8_t out[20])
{
    uint32_t h[5] = {0x67452301, 0xEFCDAB89, 0x98BADCFE, 0x10325476, 0xC3D2E1F0};
    uint8_t block[64];
    uint64_t bits = (uint64_t)len * 8;
    size_t total = ((len + 8) / 64 + 1) * 64; /* message + 0x80 + length, padded to whole blocks */
    for (size_t off = 0; off < total; off += 64) {
        for (size_t i = 0; i < 64; i++) {
            size_t k = off + i;
            uint8_t b;
            if (k < len)
                b = data[k];
            else if (k == len)
                b = 0x80;
            else if (k >= total - 8)
                b = (uint8_t)(bits >> (8 * (total - 1 - k)));
            else
                b = 0;
            block[i] = b;
        }
        uint32_t w[80];
        for (int i = 0; i < 16; i++)
            w[i] = (uint32_t)block[4 * i] << 24 | (uint32_t)block[4 * i + 1] << 16 | (uint32_t)block[4 * i + 2] << 8 | block[4 * i + 3];
        for (int i = 16; i < 80; i++)
            w[i] = rol(w[i - 3] ^ w[i - 8] ^ w[i - 14] ^ w[i - 16], 1);
        uint32_t a = h[0], b = h[1], c = h[2], d = h[3], e = h[4];
        for (int i = 0; i < 80; i++) {
            uint32_t f, k;
            if (i < 20) { f = (b & c) | (~b & d); k = 0x5A827999; }
            else if (i < 40) { f = b ^ c ^ d; k = 0x6ED9EBA1; }
            else if (i < 60) { f = (b & c) | (b & d) | (c & d); k = 0x8F1BBCDC; }
            else { f = b ^ c ^ d; k = 0xCA62C1D6; }
            uint32_t t = rol(a, 5) + f + e + k + w[i];
            e = d; d = c; c = rol(b, 30); b = a; a = t;
        }
        h[0] += a; h[1] += b; h[2] += c; h[3] += d; h[4] += e;
    }
    for (int i = 0; i < 5; i++) {
        out[4 * i] = (uint8_t)(h[i] >> 24); out[4 * i + 1] = (uint8_t)(h[i] >> 16);
        out[4 * i + 2] = (uint8_t)(h[i] >> 8); out[4 * i + 3] = (uint8_t)h[i];
    }
}

static void base64(const uint8_t *in, size_t len, char *out)
{
    static const char t[] = "ABCDEFGHIJKLMNOPQRSTUVWXYZabcdefghijklmnopqrstuvwxyz0123456789+/";
    size_t o = 0;
    for (size_t i = 0; i < len; i += 3) {
        uint32_t v = (uint32_t)in[i] << 16 | (i + 1 < len ? (uint32_t)in[i + 1] << 8 : 0) | (i + 2 < len ? in[i + 2] : 0);
        out[o++] = t[(v >> 18) & 63];
        out[o++] = t[(v >> 12) & 63];
        out[o++] = i + 1 < len ? t[(v >> 6) & 63] : '=';
        out[o++] = i + 2 < len ? t[v & 63] : '=';
    }
    out[o] = 0;
}

/* xorshift64*: keys and masks need to be unpredictable to nobody here, only varied. */
static uint64_t rng_state = 0x9E3779B97F4A7C15ull;
static uint64_t rng(void)
{
    rng_state ^= rng_state >> 12;
    rng_state ^= rng_state << 25;
    rng_state ^= rng_state >> 27;
    return rng_state * 0x2545F4914F6CDD1Dull;
}

/* ---------------------------------------------------------------- connections */

enum state { S_FREE, S_CONNECTING, S_UPGRADING, S_OPEN, S_CLOSED };

#define HS_MAX 1024   /* the 101 response must fit */
#define CTL_MAX 125   /* RFC 6455 §5.5: control payloads are at most 125 bytes */

struct conn {
    int fd;
    int idx;
    enum state state;
    /* handshake */
    char accept[32];      /* expected Sec-WebSocket-Accept */
    char *hs;             /* response bytes until \r\n\r\n; freed after the upgrade */
    int hs_len;
    /* frame parser (streaming: payloads of data frames are skipped, not buffered) */
    uint8_t hdr[14];
    int hdr_len;          /* header bytes gathered so far of the current frame */
    int hdr_need;         /* header length once known (2..14), else 2 */
    uint64_t remaining;   /* payload bytes left in the current frame */
    uint8_t opcode;       /* opcode of the current frame */
    uint8_t fin;
    uint8_t msg_opcode;   /* opcode of the message being assembled (continuations) */
    uint64_t msg_len;     /* payload bytes of the message so far */
    uint8_t ctl[CTL_MAX];
    int ctl_len;
    /* counters */
    uint64_t messages;    /* whole data messages received */
    /* pending output: bytes a send could not take yet (EAGAIN); rare, so allocated on demand */
    uint8_t *out;
    size_t out_len, out_cap;
    int want_out;         /* EPOLLOUT registered */
    /* echo */
    uint64_t *ring;       /* send timestamps of the messages in flight */
    int ring_head, in_flight;
    int to_send;          /* completed echoes not yet re-sent in this batch */
};

static int ep = -1;
static struct conn *conns;
static int nconns;                  /* total connections (broadcast: subscribers + publisher) */
static int open_count, failed_count, connecting_count, next_to_open;
static struct sockaddr_in server_addr;
static uint8_t *frame;              /* one masked client frame of opt.size bytes */
static size_t frame_len;
static uint8_t *window_frames;      /* echo: opt.window copies of frame back to back */
static uint8_t rbuf[256 * 1024];
static uint64_t protocol_errors, size_errors;

/* callbacks of the running mode */
static void (*on_message)(struct conn *c);
static void (*after_read)(struct conn *c);

static void conn_fail(struct conn *c, const char *why)
{
    if (c->state == S_CLOSED || c->state == S_FREE)
        return;
    if (c->state == S_CONNECTING || c->state == S_UPGRADING) {
        connecting_count--;
        failed_count++;
        if (failed_count <= 5)
            fprintf(stderr, "epoll-client: connection %d failed during setup: %s\n", c->idx, why);
    } else {
        open_count--;
        protocol_errors++;
        if (protocol_errors <= 5)
            fprintf(stderr, "epoll-client: connection %d failed: %s\n", c->idx, why);
    }
    epoll_ctl(ep, EPOLL_CTL_DEL, c->fd, NULL);
    close(c->fd);
    c->fd = -1;
    c->state = S_CLOSED;
    free(c->hs);
    c->hs = NULL;
}

static void set_events(struct conn *c, uint32_t events)
{
    struct epoll_event ev = {.events = events, .data.ptr = c};
    if (epoll_ctl(ep, EPOLL_CTL_MOD, c->fd, &ev) < 0)
        conn_fail(c, "epoll_ctl");
}

/* Sends bytes, keeping what the socket does not take for EPOLLOUT. Returns 0, or -1 when the connection failed. */
static int conn_send(struct conn *c, const uint8_t *p, size_t n)
{
    if (c->out_len == 0) {
        while (n > 0) {
            ssize_t w = send(c->fd, p, n, MSG_NOSIGNAL);
            if (w > 0) {
                p += w;
                n -= (size_t)w;
            } else if (w < 0 && errno == EINTR) {
                continue;
            } else if (w < 0 && (errno == EAGAIN || errno == EWOULDBLOCK)) {
                break;
            } else {
                conn_fail(c, "send");
                return -1;
            }
        }
        if (n == 0)
            return 0;
    }
    if (c->out_len + n > c->out_cap) {
        size_t cap = c->out_cap ? c->out_cap : 4096;
        while (cap < c->out_len + n)
            cap *= 2;
        uint8_t *o = realloc(c->out, cap);
        if (!o)
            die("out of memory");
        c->out = o;
        c->out_cap = cap;
    }
    memcpy(c->out + c->out_len, p, n);
    c->out_len += n;
    if (!c->want_out) {
        c->want_out = 1;
        set_events(c, EPOLLIN | EPOLLOUT);
    }
    return 0;
}

static void conn_flush_out(struct conn *c)
{
    size_t done = 0;
    while (done < c->out_len) {
        ssize_t w = send(c->fd, c->out + done, c->out_len - done, MSG_NOSIGNAL);
        if (w > 0)
            done += (size_t)w;
        else if (w < 0 && errno == EINTR)
            continue;
        else if (w < 0 && (errno == EAGAIN || errno == EWOULDBLOCK))
            break;
        else {
            conn_fail(c, "send");
            return;
        }
    }
    memmove(c->out, c->out + done, c->out_len - done);
    c->out_len -= done;
    if (c->out_len == 0 && c->want_out) {
        c->want_out = 0;
        set_events(c, EPOLLIN);
    }
}

/* Builds a masked client frame (RFC 6455 §5.2) into dst; returns its length. dst needs size + 14 bytes. */
static size_t build_frame(uint8_t *dst, uint8_t opcode, const uint8_t *payload, size_t size, uint32_t mask)
{
    size_t h = 0;
    dst[h++] = 0x80 | opcode;
    if (size < 126) {
        dst[h++] = 0x80 | (uint8_t)size;
    } else if (size < 65536) {
        dst[h++] = 0x80 | 126;
        dst[h++] = (uint8_t)(size >> 8);
        dst[h++] = (uint8_t)size;
    } else {
        dst[h++] = 0x80 | 127;
        for (int i = 7; i >= 0; i--)
            dst[h++] = (uint8_t)((uint64_t)size >> (8 * i));
    }
    uint8_t key[4] = {(uint8_t)(mask >> 24), (uint8_t)(mask >> 16), (uint8_t)(mask >> 8), (uint8_t)mask};
    memcpy(dst + h, key, 4);
    h += 4;
    for (size_t i = 0; i < size; i++)
        dst[h + i] = payload[i] ^ key[i & 3];
    return h + size;
}

static void send_control(struct conn *c, uint8_t opcode, const uint8_t *payload, int len)
{
    uint8_t f[CTL_MAX + 14];
    size_t n = build_frame(f, opcode, payload, (size_t)len, (uint32_t)rng());
    conn_send(c, f, n);
}

/* Feeds received WebSocket bytes through the frame parser. Server frames are unmasked, but a masked frame (e.g. a
 * raw TCP echo returning the client's own frames) is accepted too: its mask key is skipped and, for control frames,
 * applied. */
static void parse_frames(struct conn *c, const uint8_t *p, size_t n)
{
    while (n > 0 && c->state == S_OPEN) {
        if (c->hdr_len < c->hdr_need) {
            size_t take = (size_t)(c->hdr_need - c->hdr_len);
            if (take > n)
                take = n;
            memcpy(c->hdr + c->hdr_len, p, take);
            c->hdr_len += (int)take;
            p += take;
            n -= take;
            if (c->hdr_len < c->hdr_need)
                return;
            if (c->hdr_need == 2) {
                uint8_t len7 = c->hdr[1] & 0x7F;
                int need = 2 + (len7 == 126 ? 2 : len7 == 127 ? 8 : 0) + ((c->hdr[1] & 0x80) ? 4 : 0);
                if (need > 2) {
                    c->hdr_need = need;
                    continue; /* gather the extended length and mask key */
                }
            }
            /* header complete */
            uint8_t b0 = c->hdr[0], len7 = c->hdr[1] & 0x7F;
            uint64_t len = len7;
            if (len7 == 126) {
                len = (uint64_t)c->hdr[2] << 8 | c->hdr[3];
            } else if (len7 == 127) {
                len = 0;
                for (int i = 0; i < 8; i++)
                    len = len << 8 | c->hdr[2 + i];
            }
            if (b0 & 0x70) {
                conn_fail(c, "reserved bits set (no extension was negotiated)");
                return;
            }
            c->fin = b0 >> 7;
            c->opcode = b0 & 0x0F;
            c->remaining = len;
            c->ctl_len = 0;
            if (c->opcode >= 8) {
                if (len > CTL_MAX || !c->fin) {
                    conn_fail(c, "bad control frame");
                    return;
                }
            } else if (c->opcode == 0) {
                if (c->msg_opcode == 0) {
                    conn_fail(c, "continuation without a message");
                    return;
                }
            } else if (c->opcode == 1 || c->opcode == 2) {
                if (c->msg_opcode != 0) {
                    conn_fail(c, "new message inside a fragmented one");
                    return;
                }
                c->msg_opcode = c->opcode;
                c->msg_len = 0;
            } else {
                conn_fail(c, "reserved opcode");
                return;
            }
        }
        /* payload */
        size_t take = c->remaining < n ? (size_t)c->remaining : n;
        if (c->opcode >= 8) {
            memcpy(c->ctl + c->ctl_len, p, take);
            c->ctl_len += (int)take;
        } else {
            c->msg_len += take;
        }
        c->remaining -= take;
        p += take;
        n -= take;
        if (c->remaining > 0)
            return;
        /* frame complete */
        if (c->hdr[1] & 0x80) { /* masked: unmask the control payload (data payloads are not inspected) */
            const uint8_t *key = c->hdr + c->hdr_need - 4;
            for (int i = 0; i < c->ctl_len; i++)
                c->ctl[i] ^= key[i & 3];
        }
        uint8_t opcode = c->opcode;
        c->hdr_len = 0;
        c->hdr_need = 2;
        if (opcode == 9) {
            send_control(c, 0xA, c->ctl, c->ctl_len); /* answer pings, so a server's keep-alive never drops us */
        } else if (opcode == 8) {
            conn_fail(c, "server sent close");
            return;
        } else if (opcode == 0xA) {
            /* unsolicited pong: ignore */
        } else if (c->fin) {
            if (c->msg_len != (uint64_t)opt.size)
                size_errors++;
            c->msg_opcode = 0;
            c->messages++;
            on_message(c);
        }
    }
}

static void start_upgrade(struct conn *c)
{
    uint8_t nonce[16], digest[20];
    for (int i = 0; i < 16; i++)
        nonce[i] = (uint8_t)rng();
    char key[32], req[512], cat[96];
    base64(nonce, 16, key);
    snprintf(cat, sizeof cat, "%s258EAFA5-E914-47DA-95CA-C5AB0DC85B11", key);
    sha1((const uint8_t *)cat, strlen(cat), digest);
    base64(digest, 20, c->accept);
    int n = snprintf(req, sizeof req,
                     "GET %s HTTP/1.1\r\nHost: %s:%d\r\nUpgrade: websocket\r\nConnection: Upgrade\r\n"
                     "Sec-WebSocket-Key: %s\r\nSec-WebSocket-Version: 13\r\n\r\n",
                     opt.path, opt.host, opt.port, key);
    c->state = S_UPGRADING;
    c->hs = malloc(HS_MAX + 1);
    if (!c->hs)
        die("out of memory");
    c->hs_len = 0;
    if (conn_send(c, (const uint8_t *)req, (size_t)n) == 0 && !c->want_out)
        set_events(c, EPOLLIN);
}

/* Case-insensitive search for a header's value in the response; copies it (trimmed) into out. */
static int header_value(const char *resp, const char *name, char *out, size_t cap)
{
    size_t nl = strlen(name);
    for (const char *line = strstr(resp, "\r\n"); line && line[2] != '\r'; line = strstr(line + 2, "\r\n")) {
        const char *h = line + 2;
        if (strncasecmp(h, name, nl) == 0 && h[nl] == ':') {
            const char *v = h + nl + 1;
            while (*v == ' ' || *v == '\t')
                v++;
            const char *e = strstr(v, "\r\n");
            size_t len = (size_t)(e - v);
            while (len > 0 && (v[len - 1] == ' ' || v[len - 1] == '\t'))
                len--;
            if (len >= cap)
                return 0;
            memcpy(out, v, len);
            out[len] = 0;
            return 1;
        }
    }
    return 0;
}

static void mark_open(struct conn *c)
{
    c->state = S_OPEN;
    c->hdr_need = 2;
    connecting_count--;
    open_count++;
    if (!c->want_out)
        set_events(c, EPOLLIN);
}

static void on_handshake_bytes(struct conn *c, const uint8_t *p, size_t n)
{
    size_t room = HS_MAX - (size_t)c->hs_len;
    size_t take = n < room ? n : room;
    memcpy(c->hs + c->hs_len, p, take);
    c->hs_len += (int)take;
    c->hs[c->hs_len] = 0;
    char *end = strstr(c->hs, "\r\n\r\n");
    if (!end) {
        if (c->hs_len == HS_MAX)
            conn_fail(c, "handshake response too long");
        return;
    }
    size_t head = (size_t)(end - c->hs) + 4;
    char accept[64];
    if (strncmp(c->hs, "HTTP/1.1 101", 12) != 0) {
        char *eol = strstr(c->hs, "\r\n");
        if (eol)
            *eol = 0;
        conn_fail(c, c->hs);
        return;
    }
    if (!header_value(c->hs, "Sec-WebSocket-Accept", accept, sizeof accept) || strcmp(accept, c->accept) != 0) {
        conn_fail(c, "wrong or missing Sec-WebSocket-Accept");
        return;
    }
    /* bytes after the head are frames; they came from this read (p, n) */
    size_t before = (size_t)c->hs_len - take; /* handshake bytes from earlier reads */
    size_t rest_off = head - before;          /* offset in p where frames begin */
    free(c->hs);
    c->hs = NULL;
    mark_open(c);
    if (rest_off < n)
        parse_frames(c, p + rest_off, n - rest_off);
}

static void on_readable(struct conn *c)
{
    for (;;) {
        ssize_t r = recv(c->fd, rbuf, sizeof rbuf, 0);
        if (r > 0) {
            if (c->state == S_UPGRADING)
                on_handshake_bytes(c, rbuf, (size_t)r);
            else if (c->state == S_OPEN)
                parse_frames(c, rbuf, (size_t)r);
            if ((size_t)r < sizeof rbuf || c->state != S_OPEN)
                break;
        } else if (r == 0) {
            conn_fail(c, "server closed the connection");
            return;
        } else if (errno == EINTR) {
            continue;
        } else if (errno == EAGAIN || errno == EWOULDBLOCK) {
            break;
        } else {
            conn_fail(c, "recv");
            return;
        }
    }
    if (c->state == S_OPEN && after_read)
        after_read(c);
}

static void open_next(void)
{
    while (next_to_open < nconns && connecting_count < opt.batch) {
        struct conn *c = &conns[next_to_open];
        c->idx = next_to_open++;
        c->fd = socket(AF_INET, SOCK_STREAM | SOCK_NONBLOCK | SOCK_CLOEXEC, 0);
        if (c->fd < 0)
            die("socket: %s (raise ulimit -n)", strerror(errno));
        int one = 1;
        setsockopt(c->fd, IPPROTO_TCP, TCP_NODELAY, &one, sizeof one);
        c->state = S_CONNECTING;
        connecting_count++;
        struct epoll_event ev = {.events = EPOLLOUT, .data.ptr = c};
        if (epoll_ctl(ep, EPOLL_CTL_ADD, c->fd, &ev) < 0)
            die("epoll_ctl: %s", strerror(errno));
        if (connect(c->fd, (struct sockaddr *)&server_addr, sizeof server_addr) == 0) {
            if (opt.raw)
                mark_open(c);
            else
                start_upgrade(c);
        }
        else if (errno != EINPROGRESS)
            conn_fail(c, strerror(errno));
    }
}

static void on_event(struct conn *c, uint32_t events)
{
    if (c->state == S_CONNECTING) {
        int err = 0;
        socklen_t len = sizeof err;
        getsockopt(c->fd, SOL_SOCKET, SO_ERROR, &err, &len);
        if (err != 0 || (events & (EPOLLERR | EPOLLHUP))) {
            conn_fail(c, err ? strerror(err) : "connect failed");
            return;
        }
        if (opt.raw)
            mark_open(c);
        else
            start_upgrade(c);
        return;
    }
    if (events & EPOLLOUT && c->out_len > 0)
        conn_flush_out(c);
    if (c->state != S_CLOSED && (events & (EPOLLIN | EPOLLERR | EPOLLHUP)))
        on_readable(c);
}

/* Runs the event loop until done() is true or the deadline passes. Returns 1 when done. */
static int run_until(int (*done)(void), uint64_t until_ns)
{
    static struct epoll_event events[1024];
    while (!done()) {
        uint64_t t = now_ns();
        if (t >= until_ns)
            return 0;
        int timeout_ms = (int)((until_ns - t) / 1000000u) + 1;
        if (timeout_ms > 100)
            timeout_ms = 100;
        int n = epoll_wait(ep, events, 1024, timeout_ms);
        if (n < 0) {
            if (errno == EINTR)
                continue;
            die("epoll_wait: %s", strerror(errno));
        }
        for (int i = 0; i < n; i++)
            on_event(events[i].data.ptr, events[i].events);
        if (next_to_open < nconns)
            open_next();
    }
    return 1;
}

static int all_set_up(void) { return next_to_open == nconns && connecting_count == 0; }

static void no_message(struct conn *c) { (void)c; }

/* Opens every connection (opt.batch at a time) and upgrades it; fails the run if any cannot be opened. */
static void open_all(void)
{
    conns = calloc((size_t)nconns, sizeof *conns);
    if (!conns)
        die("out of memory");
    ep = epoll_create1(EPOLL_CLOEXEC);
    if (ep < 0)
        die("epoll_create1: %s", strerror(errno));
    on_message = no_message;
    uint64_t t0 = now_ns();
    open_next();
    if (!run_until(all_set_up, t0 + (uint64_t)(opt.connect_timeout_s * 1e9)))
        die("only %d of %d connections open after %.0f s", open_count, nconns, opt.connect_timeout_s);
    if (failed_count > 0)
        die("%d of %d connections failed to open", failed_count, nconns);
    fprintf(stderr, "epoll-client: %d connections open in %.2f s\n", open_count, (now_ns() - t0) / 1e9);
}

/* Ends every connection with a reset (SO_LINGER 0): no TIME_WAIT left behind between back-to-back runs. */
static void close_all(void)
{
    struct linger lg = {.l_onoff = 1, .l_linger = 0};
    for (int i = 0; i < nconns; i++) {
        if (conns[i].fd >= 0 && conns[i].state != S_FREE && conns[i].state != S_CLOSED) {
            setsockopt(conns[i].fd, SOL_SOCKET, SO_LINGER, &lg, sizeof lg);
            close(conns[i].fd);
        }
    }
}

static void make_frame(void)
{
    uint8_t *payload = malloc((size_t)opt.size + 1);
    if (!payload)
        die("out of memory");
    if (opt.text) {
        /* valid UTF-8 mixing 1- and 2-byte sequences ("a" and "é"), so a server must validate text */
        int i = 0;
        while (i < opt.size) {
            if (i + 2 <= opt.size && (i % 3) == 1) {
                payload[i++] = 0xC3;
                payload[i++] = 0xA9;
            } else {
                payload[i] = (uint8_t)('a' + i % 26);
                i++;
            }
        }
    } else {
        for (int i = 0; i < opt.size; i++)
            payload[i] = (uint8_t)rng();
    }
    frame = malloc((size_t)opt.size + 14);
    if (!frame)
        die("out of memory");
    frame_len = build_frame(frame, opt.text ? 1 : 2, payload, (size_t)opt.size, (uint32_t)rng() | 1u);
    free(payload);
}

static int cmp_u64(const void *a, const void *b)
{
    uint64_t x = *(const uint64_t *)a, y = *(const uint64_t *)b;
    return x < y ? -1 : x > y;
}

/* Nearest-rank percentile of a sorted array. */
static uint64_t percentile(const uint64_t *sorted, int n, double p)
{
    int rank = (int)(p / 100.0 * n + 0.999999);
    if (rank < 1)
        rank = 1;
    if (rank > n)
        rank = n;
    return sorted[rank - 1];
}

/* ---------------------------------------------------------------- broadcast */

static uint64_t bc_target;        /* messages each subscriber must have this round */
static int bc_done;               /* subscribers that have them */
static uint64_t bc_last_ns;       /* when the last one got there */
static uint64_t publisher_received;

static void bc_on_message(struct conn *c)
{
    if (c->idx == 0) { /* the publisher: a server may or may not echo to the sender; not counted */
        publisher_received++;
        c->messages = 0;
        return;
    }
    if (c->messages == bc_target) {
        bc_done++;
        bc_last_ns = now_ns();
    }
}

static int bc_round_done(void) { return bc_done == opt.conns || protocol_errors > 0; }

static int run_broadcast(void)
{
    nconns = opt.conns + 1; /* connection 0 publishes */
    open_all();
    on_message = bc_on_message;
    after_read = NULL;
    uint64_t *ttl = malloc(sizeof(uint64_t) * (size_t)opt.rounds);
    if (!ttl)
        die("out of memory");
    double srv0 = 0, cpu0 = 0;
    uint64_t wall0 = 0;
    int total = opt.warmup_rounds + opt.rounds;
    for (int r = 0; r < total; r++) {
        if (r == opt.warmup_rounds) {
            srv0 = proc_cpu_s(opt.server_pid);
            cpu0 = self_cpu_s();
            wall0 = now_ns();
        }
        bc_target = (uint64_t)r + 1;
        bc_done = 0;
        uint64_t t0 = now_ns();
        conn_send(&conns[0], frame, frame_len);
        if (!run_until(bc_round_done, t0 + (uint64_t)(opt.round_timeout_s * 1e9)) || protocol_errors > 0) {
            int missing = opt.conns - bc_done;
            fprintf(stderr, "epoll-client: round %d: %d of %d subscribers did not get the message within %.0f s (%llu protocol errors)\n",
                    r + 1, missing, opt.conns, opt.round_timeout_s, (unsigned long long)protocol_errors);
            close_all();
            return 1;
        }
        if (r >= opt.warmup_rounds)
            ttl[r - opt.warmup_rounds] = bc_last_ns - t0;
    }
    double srv1 = proc_cpu_s(opt.server_pid), cpu1 = self_cpu_s();
    double wall = (now_ns() - wall0) / 1e9;
    close_all();

    qsort(ttl, (size_t)opt.rounds, sizeof *ttl, cmp_u64);
    double delivered = (double)opt.rounds * opt.conns;
    double p50 = percentile(ttl, opt.rounds, 50) / 1e3, p99 = percentile(ttl, opt.rounds, 99) / 1e3;
    double mean = 0;
    for (int i = 0; i < opt.rounds; i++)
        mean += ttl[i] / 1e3;
    mean /= opt.rounds;
    double srv_us = opt.server_pid > 0 && srv0 >= 0 && srv1 >= 0 ? (srv1 - srv0) * 1e6 / delivered : -1;
    double cli_us = (cpu1 - cpu0) * 1e6 / delivered;
    fprintf(stderr, "epoll-client: %s broadcast %d B to %d: time-to-last p50 %.0f us, p99 %.0f us, max %.0f us; "
                    "server %.3f us/msg, client %.3f us/msg; %.1f s; size errors %llu\n",
            opt.label, opt.size, opt.conns, p50, p99, ttl[opt.rounds - 1] / 1e3, srv_us, cli_us, wall,
            (unsigned long long)size_errors);
    printf("RESULT mode=broadcast label=%s size=%d conns=%d rounds=%d p50_us=%.1f p99_us=%.1f max_us=%.1f mean_us=%.1f "
           "server_cpu_us_per_msg=%.4f client_cpu_us_per_msg=%.4f server_cpu_s=%.2f client_cpu_s=%.2f wall_s=%.2f "
           "delivered=%.0f size_errors=%llu\n",
           opt.label[0] ? opt.label : "-", opt.size, opt.conns, opt.rounds, p50, p99, ttl[opt.rounds - 1] / 1e3, mean,
           srv_us, cli_us, srv1 - srv0, cpu1 - cpu0, wall, delivered, (unsigned long long)size_errors);
    free(ttl);
    return size_errors > 0 ? 1 : 0;
}

/* ---------------------------------------------------------------- echo */

/* Log-linear latency histogram: 1 us buckets below 1 ms, 10 us below 10 ms, 100 us below 100 ms, 1 ms below 10 s. */
#define H1 1000
#define H2 900
#define H3 900
#define H4 9900
static uint64_t hist[H1 + H2 + H3 + H4 + 1];
static uint64_t echo_count;
static int echo_measuring;

static void hist_add(uint64_t ns)
{
    uint64_t us = ns / 1000;
    size_t b;
    if (us < 1000) b = us;
    else if (us < 10000) b = H1 + (us - 1000) / 10;
    else if (us < 100000) b = H1 + H2 + (us - 10000) / 100;
    else if (us < 10000000) b = H1 + H2 + H3 + (us - 100000) / 1000;
    else b = H1 + H2 + H3 + H4;
    hist[b]++;
}

/* The midpoint of the bucket holding the p-th percentile, in us. */
static double hist_percentile(double p)
{
    uint64_t total = 0;
    for (size_t i = 0; i < sizeof hist / sizeof *hist; i++)
        total += hist[i];
    if (total == 0)
        return 0;
    uint64_t rank = (uint64_t)(p / 100.0 * total + 0.999999), seen = 0;
    for (size_t i = 0; i < sizeof hist / sizeof *hist; i++) {
        seen += hist[i];
        if (seen >= rank) {
            if (i < H1) return i + 0.5;
            if (i < H1 + H2) return 1000 + (i - H1) * 10 + 5;
            if (i < H1 + H2 + H3) return 10000 + (i - H1 - H2) * 100 + 50;
            if (i < H1 + H2 + H3 + H4) return 100000 + (i - H1 - H2 - H3) * 1000 + 500;
            return 10000000;
        }
    }
    return 0;
}

static void echo_on_message(struct conn *c)
{
    if (c->in_flight == 0) {
        protocol_errors++; /* an echo nobody asked for */
        return;
    }
    uint64_t sent = c->ring[c->ring_head];
    c->ring_head = (c->ring_head + 1) % opt.window;
    c->in_flight--;
    c->to_send++;
    if (echo_measuring) {
        hist_add(now_ns() - sent);
        echo_count++;
    }
}

/* Sends the frames for this read's completed echoes in one send, so the window stays full. */
static void echo_send(struct conn *c, int count)
{
    uint64_t t = now_ns();
    int tail = (c->ring_head + c->in_flight) % opt.window;
    for (int i = 0; i < count; i++) {
        c->ring[tail] = t;
        tail = (tail + 1) % opt.window;
    }
    c->in_flight += count;
    conn_send(c, window_frames, frame_len * (size_t)count);
}

static void echo_after_read(struct conn *c)
{
    if (c->to_send > 0) {
        int n = c->to_send;
        c->to_send = 0;
        echo_send(c, n);
    }
}

static int never(void) { return protocol_errors > 0; }

static int run_echo(void)
{
    nconns = opt.conns;
    open_all();
    window_frames = malloc(frame_len * (size_t)opt.window);
    if (!window_frames)
        die("out of memory");
    for (int i = 0; i < opt.window; i++)
        memcpy(window_frames + frame_len * (size_t)i, frame, frame_len);
    on_message = echo_on_message;
    after_read = echo_after_read;
    for (int i = 0; i < nconns; i++) {
        conns[i].ring = calloc((size_t)opt.window, sizeof(uint64_t));
        if (!conns[i].ring)
            die("out of memory");
        echo_send(&conns[i], opt.window);
    }
    run_until(never, now_ns() + (uint64_t)(opt.warmup_s * 1e9));
    echo_measuring = 1;
    double srv0 = proc_cpu_s(opt.server_pid), cpu0 = self_cpu_s();
    uint64_t t0 = now_ns();
    run_until(never, t0 + (uint64_t)(opt.duration_s * 1e9));
    double srv1 = proc_cpu_s(opt.server_pid), cpu1 = self_cpu_s();
    double wall = (now_ns() - t0) / 1e9;
    echo_measuring = 0;
    close_all();
    if (protocol_errors > 0 || echo_count == 0) {
        fprintf(stderr, "epoll-client: echo failed: %llu protocol errors, %llu echoes\n",
                (unsigned long long)protocol_errors, (unsigned long long)echo_count);
        return 1;
    }
    double n = (double)echo_count;
    double srv_us = opt.server_pid > 0 && srv0 >= 0 && srv1 >= 0 ? (srv1 - srv0) * 1e6 / n : -1;
    double cli_us = (cpu1 - cpu0) * 1e6 / n;
    double p50 = hist_percentile(50), p99 = hist_percentile(99);
    fprintf(stderr, "epoll-client: %s echo %d B, %d x %d: %.0f msgs/s, p50 %.1f us, p99 %.1f us; server %.3f us/msg "
                    "(%.0f %% of a core), client %.3f us/msg; size errors %llu\n",
            opt.label, opt.size, opt.conns, opt.window, n / wall, p50, p99, srv_us,
            srv_us >= 0 ? (srv1 - srv0) / wall * 100 : -1, cli_us, (unsigned long long)size_errors);
    printf("RESULT mode=echo label=%s size=%d conns=%d window=%d text=%d msgs=%.0f msgs_per_s=%.0f p50_us=%.1f p99_us=%.1f "
           "server_cpu_us_per_msg=%.4f client_cpu_us_per_msg=%.4f server_cpu_pct=%.1f wall_s=%.2f size_errors=%llu\n",
           opt.label[0] ? opt.label : "-", opt.size, opt.conns, opt.window, opt.text, n, n / wall, p50, p99, srv_us, cli_us,
           srv_us >= 0 ? (srv1 - srv0) / wall * 100 : -1, wall, (unsigned long long)size_errors);
    return size_errors > 0 ? 1 : 0;
}

/* ---------------------------------------------------------------- main */

int main(int argc, char **argv)
{
    if (argc < 2)
        usage();
    if (strcmp(argv[1], "broadcast") == 0)
        opt.mode = MODE_BROADCAST;
    else if (strcmp(argv[1], "echo") == 0)
        opt.mode = MODE_ECHO;
    else
        usage();
    for (int i = 2; i < argc; i++) {
        const char *a = argv[i];
        const char *v = i + 1 < argc ? argv[i + 1] : NULL;
#define ARG(name) (strcmp(a, name) == 0 && v && (i++, 1))
        if (ARG("--host")) opt.host = v;
        else if (ARG("--port")) opt.port = atoi(v);
        else if (ARG("--path")) opt.path = v;
        else if (ARG("--conns")) opt.conns = atoi(v);
        else if (ARG("--size")) opt.size = atoi(v);
        else if (ARG("--window")) opt.window = atoi(v);
        else if (ARG("--rounds")) opt.rounds = atoi(v);
        else if (ARG("--warmup-rounds")) opt.warmup_rounds = atoi(v);
        else if (ARG("--warmup")) opt.warmup_s = atof(v);
        else if (ARG("--duration")) opt.duration_s = atof(v);
        else if (ARG("--round-timeout")) opt.round_timeout_s = atof(v);
        else if (ARG("--connect-timeout")) opt.connect_timeout_s = atof(v);
        else if (ARG("--batch")) opt.batch = atoi(v);
        else if (ARG("--server-pid")) opt.server_pid = atoi(v);
        else if (ARG("--label")) opt.label = v;
        else if (strcmp(a, "--text") == 0) opt.text = 1;
        else if (strcmp(a, "--raw") == 0) opt.raw = 1;
        else {
            fprintf(stderr, "epoll-client: unknown or incomplete argument %s\n", a);
            usage();
        }
#undef ARG
    }
    if (opt.port <= 0 || opt.port > 65535 || opt.conns < 1 || opt.size < 0 || opt.window < 1 || opt.rounds < 1 ||
        opt.warmup_rounds < 0 || opt.batch < 1 || opt.duration_s <= 0 || opt.warmup_s < 0)
        usage();
    memset(&server_addr, 0, sizeof server_addr);
    server_addr.sin_family = AF_INET;
    server_addr.sin_port = htons((uint16_t)opt.port);
    if (inet_pton(AF_INET, opt.host, &server_addr.sin_addr) != 1)
        die("--host must be an IPv4 address: %s", opt.host);
    signal(SIGPIPE, SIG_IGN);
    rng_state ^= (uint64_t)now_ns() ^ ((uint64_t)getpid() << 32);
    make_frame();
    return opt.mode == MODE_BROADCAST ? run_broadcast() : run_echo();
}
