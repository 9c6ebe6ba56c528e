/*
 * bpfsteer-diverter, the native client: the program an OpenZiti router runs for
 * `mode: tproxy:<path>` (also run as map_update / map_delete). It parses nothing: it forwards its
 * program name and arguments to the agent's ziti source (POST /v1/diverter on the unix socket),
 * where @bpfsteer/source-ziti's one parser and executor run them, and prints what the agent sends
 * back. A Node start costs 70-130 ms on a small router; this costs an exec and one request.
 *
 * The router's side of the contract (openziti/ziti tunnel/intercept/tproxy/tproxy_linux.go):
 *   - `-V` once at router start; a non-zero exit stops the router from starting. Here `-V` prints
 *     this client's version and exits 0 also when the agent is not reachable (why, on stderr).
 *   - `-I ...` per service address, `-D ...` when a service goes; each one after another, judged
 *     by the exit status only (a failed -I is logged at debug level and never retried). Here a call
 *     that changes rules and cannot reach the agent is kept in the spool directory (one file per
 *     call, written and fsync'd before the exit) and exits 0: the agent applies kept calls in order
 *     when it is back, before any call that reaches it later. Calls that only read (-L, -M,
 *     --help) exit 1 then.
 *
 * Where the agent is: BPFSTEER_ZITI_SOCKET and BPFSTEER_ZITI_SPOOL, else `socket = ...` and
 * `spool = ...` lines of /etc/bpfsteer/diverter.conf (or the file BPFSTEER_DIVERTER_CONF names),
 * else /run/bpfsteer/ziti.sock and /var/lib/bpfsteer/ziti-spool (the ziti source's defaults).
 *
 * The answer's body (src/diverter/diverter-frames.ts writes it): frames `o <n>\n` + n bytes for
 * stdout, `e <n>\n` + n bytes for stderr, and last `x <code>\n`, the exit status, or `k 0\n`: the
 * agent cannot apply the change now (no running plugin, a failed apply): keep it, like a call that
 * found no agent.
 *
 * Exit status: the agent's (0 done, 1 refused, 2 usage); 0 when kept; 1 when nothing could be done
 * (the agent unreachable for a call that only reads, the spool not writable, an HTTP error).
 */
#define _GNU_SOURCE
#include <dirent.h>
#include <errno.h>
#include <fcntl.h>
#include <poll.h>
#include <signal.h>
#include <stdarg.h>
#include <stdint.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/file.h>
#include <sys/socket.h>
#include <sys/stat.h>
#include <sys/un.h>
#include <time.h>
#include <unistd.h>

#ifndef BPFSTEER_VERSION
#define BPFSTEER_VERSION "0.0.0-dev"
#endif

#define DEFAULT_SOCKET "/run/bpfsteer/ziti.sock"
#define DEFAULT_SPOOL "/var/lib/bpfsteer/ziti-spool"
#define DEFAULT_CONF "/etc/bpfsteer/diverter.conf"

/* how long a call waits: -V for the agent's version; a change for its answer (a flush of 100,000 rules takes ~1 s) */
#define VERSION_TIMEOUT_MS 1000
#define CALL_TIMEOUT_MS 60000
#define KICK_TIMEOUT_MS 300
#define NO_TIMEOUT (-1)

enum { EXIT_OK = 0, EXIT_AGENT = 1 };

static const char *program = "bpfsteer-diverter";

/* SIGINT / SIGTERM during a call that only reads (-M runs until Ctrl-C): end it, exit 0 */
static volatile sig_atomic_t interrupted;
static void on_interrupt(int sig) {
  (void)sig;
  interrupted = 1;
}

static void complain(const char *fmt, ...) {
  va_list ap;
  fprintf(stderr, "%s: ", program);
  va_start(ap, fmt);
  vfprintf(stderr, fmt, ap);
  va_end(ap);
  fputc('\n', stderr);
}

/* ------------------------------------------------------------------ growable buffer */

struct buf {
  char *p;
  size_t len, cap;
};

static void buf_put(struct buf *b, const void *data, size_t n) {
  if (b->len + n + 1 > b->cap) {
    size_t cap = b->cap ? b->cap : 256;
    while (b->len + n + 1 > cap) cap *= 2;
    char *p = realloc(b->p, cap);
    if (!p) {
      complain("out of memory");
      exit(EXIT_AGENT);
    }
    b->p = p;
    b->cap = cap;
  }
  memcpy(b->p + b->len, data, n);
  b->len += n;
  b->p[b->len] = '\0';
}

static void buf_str(struct buf *b, const char *s) { buf_put(b, s, strlen(s)); }

/* `s` as a JSON string (bytes >= 0x80 pass as they are: the agent decodes UTF-8) */
static void buf_json_string(struct buf *b, const char *s) {
  static const char hex[] = "0123456789abcdef";
  buf_put(b, "\"", 1);
  for (const unsigned char *c = (const unsigned char *)s; *c; c++) {
    if (*c == '"' || *c == '\\') {
      char esc[2] = {'\\', (char)*c};
      buf_put(b, esc, 2);
    } else if (*c < 0x20) {
      char esc[6] = {'\\', 'u', '0', '0', hex[*c >> 4], hex[*c & 15]};
      buf_put(b, esc, 6);
    } else {
      buf_put(b, c, 1);
    }
  }
  buf_put(b, "\"", 1);
}

/*
 * The ports of the TCP sockets listening and the UDP sockets bound (unconnected) on the loopback
 * or on every address, here (the router's network namespace: the router runs this program), from
 * /proc/net/{tcp,tcp6,udp,udp6}, marked in `ports` (65536 bits); those on every address also in
 * `any` when given (an IPv6 socket on [::] also takes IPv4, a socket on [::1] never). With a
 * delete, the agent removes, of a rule several services share, the wishes whose listener is gone:
 * the router closes a service's listeners before it deletes the service's addresses.
 */
static void mark_listening(const char *file, const char *state, int v6, unsigned char *ports, unsigned char *any_ports) {
  FILE *f = fopen(file, "re");
  if (!f) return;
  char line[512];
  if (!fgets(line, sizeof line, f)) { /* the header */
    fclose(f);
    return;
  }
  while (fgets(line, sizeof line, f)) {
    char local[64], st[8];
    if (sscanf(line, " %*[^:]: %63s %*s %7s", local, st) != 2 || strcmp(st, state) != 0) continue;
    char *colon = strchr(local, ':');
    if (!colon || (size_t)(colon - local) != (v6 ? 32u : 8u)) continue;
    *colon = '\0';
    unsigned port = (unsigned)strtoul(colon + 1, NULL, 16);
    /* /proc prints each 32-bit word of the address as a host-order number: 127.x.x.x is "xxxxxx7F" on a little-endian host */
    int any = strspn(local, "0") == strlen(local);
#if __BYTE_ORDER__ == __ORDER_LITTLE_ENDIAN__
    int loopback = v6 ? strcmp(local, "00000000000000000000000001000000") == 0 : strncmp(local + 6, "7F", 2) == 0;
#else
    int loopback = v6 ? strcmp(local, "00000000000000000000000000000001") == 0 : strncmp(local, "7F", 2) == 0;
#endif
    if (port >= 65536 || !(any || loopback)) continue;
    ports[port >> 3] |= (unsigned char)(1u << (port & 7));
    if (any && any_ports) any_ports[port >> 3] |= (unsigned char)(1u << (port & 7));
  }
  fclose(f);
}

static void ports_json(struct buf *b, const unsigned char *ports) {
  int first = 1;
  char num[8];
  for (unsigned p = 0; p < 65536; p++) {
    if (!(ports[p >> 3] & (1u << (p & 7)))) continue;
    snprintf(num, sizeof num, first ? "%u" : ",%u", p);
    buf_str(b, num);
    first = 0;
  }
}

/*
 * "listening": tcp, udp: where an IPv4 destination can be diverted (127.0.0.1, 0.0.0.0, [::]);
 * tcp6, udp6: where an IPv6 one can ([::1], [::]). A port of [::1] alone is not in tcp: another
 * service's IPv6 listener on the port number of a closed IPv4 listener must not keep its wish.
 */
static void listening_json(struct buf *b) {
  static unsigned char tcp[8192], udp[8192], tcp6[8192], udp6[8192];
  mark_listening("/proc/net/tcp", "0A", 0, tcp, NULL);
  mark_listening("/proc/net/tcp6", "0A", 1, tcp6, tcp);
  mark_listening("/proc/net/udp", "07", 0, udp, NULL);
  mark_listening("/proc/net/udp6", "07", 1, udp6, udp);
  const struct { const char *name; const unsigned char *ports; } lists[] = {{"tcp", tcp}, {"udp", udp}, {"tcp6", tcp6}, {"udp6", udp6}};
  buf_str(b, ",\"listening\":{");
  for (int i = 0; i < 4; i++) {
    buf_str(b, i ? "],\"" : "\"");
    buf_str(b, lists[i].name);
    buf_str(b, "\":[");
    ports_json(b, lists[i].ports);
  }
  buf_str(b, "]}");
}

/*
 * "caller": the process that ran this one (the router: its -V and inserts tell the agent which
 * router is running, router-generations.ts): its pid and start time (/proc/<pid>/stat field 22,
 * which tells a reused pid apart). Nothing when it cannot be read.
 */
static void caller_json(struct buf *b) {
  pid_t parent = getppid();
  char path[64], stat[1024];
  snprintf(path, sizeof path, "/proc/%d/stat", (int)parent);
  int fd = open(path, O_RDONLY | O_CLOEXEC);
  if (fd < 0) return;
  ssize_t n = read(fd, stat, sizeof stat - 1);
  close(fd);
  if (n <= 0) return;
  stat[n] = '\0';
  char *p = strrchr(stat, ')'); /* the command name may hold spaces and parentheses */
  if (!p) return;
  p++;
  /* p is at the space before field 3 (the state); 19 spaces on is the one before field 22 */
  for (int field = 3; field < 22 && p; field++) p = strchr(p + 1, ' ');
  if (!p) return;
  unsigned long long start = strtoull(p + 1, NULL, 10);
  char json[96];
  snprintf(json, sizeof json, ",\"caller\":{\"pid\":%d,\"start\":%llu}", (int)parent, start);
  buf_str(b, json);
}

/* {"program":"...","args":["...",...],"caller":{...}} (and "listening" with a delete) */
static void call_json(struct buf *b, int argc, char **argv, int with_listening) {
  buf_str(b, "{\"program\":");
  buf_json_string(b, program);
  buf_str(b, ",\"args\":[");
  for (int i = 1; i < argc; i++) {
    if (i > 1) buf_put(b, ",", 1);
    buf_json_string(b, argv[i]);
  }
  buf_str(b, "]");
  caller_json(b);
  if (with_listening) listening_json(b);
  buf_str(b, "}");
}

/* ------------------------------------------------------------------ configuration */

struct config {
  char socket[sizeof(((struct sockaddr_un *)0)->sun_path)];
  char spool[4096];
};

static void set_path(char *dst, size_t size, const char *value, const char *what) {
  if (value[0] != '/' || strlen(value) >= size) {
    complain("%s %s must be an absolute path shorter than %zu bytes", what, value, size);
    exit(EXIT_AGENT);
  }
  strcpy(dst, value);
}

static char *trim(char *s) {
  while (*s == ' ' || *s == '\t') s++;
  char *end = s + strlen(s);
  while (end > s && (end[-1] == ' ' || end[-1] == '\t' || end[-1] == '\n' || end[-1] == '\r')) *--end = '\0';
  return s;
}

static void load_config(struct config *c) {
  strcpy(c->socket, DEFAULT_SOCKET);
  strcpy(c->spool, DEFAULT_SPOOL);
  const char *conf = getenv("BPFSTEER_DIVERTER_CONF");
  FILE *f = fopen(conf && *conf ? conf : DEFAULT_CONF, "re");
  if (f) {
    char line[4200];
    int n = 0;
    while (fgets(line, sizeof line, f)) {
      n++;
      char *s = trim(line);
      if (*s == '\0' || *s == '#') continue;
      char *eq = strchr(s, '=');
      if (!eq) {
        complain("%s line %d: expected `key = value`", conf && *conf ? conf : DEFAULT_CONF, n);
        exit(EXIT_AGENT);
      }
      *eq = '\0';
      char *key = trim(s), *value = trim(eq + 1);
      if (strcmp(key, "socket") == 0) set_path(c->socket, sizeof c->socket, value, "socket");
      else if (strcmp(key, "spool") == 0) set_path(c->spool, sizeof c->spool, value, "spool");
      else {
        complain("%s line %d: unknown key %s (known: socket, spool)", conf && *conf ? conf : DEFAULT_CONF, n, key);
        exit(EXIT_AGENT);
      }
    }
    fclose(f);
  } else if (conf && *conf) {
    complain("cannot read %s: %s", conf, strerror(errno));
    exit(EXIT_AGENT);
  }
  const char *env = getenv("BPFSTEER_ZITI_SOCKET");
  if (env && *env) set_path(c->socket, sizeof c->socket, env, "BPFSTEER_ZITI_SOCKET");
  env = getenv("BPFSTEER_ZITI_SPOOL");
  if (env && *env) set_path(c->spool, sizeof c->spool, env, "BPFSTEER_ZITI_SPOOL");
}

/* ------------------------------------------------------------------ the request */

static int64_t now_ms(void) {
  struct timespec ts;
  clock_gettime(CLOCK_MONOTONIC, &ts);
  return (int64_t)ts.tv_sec * 1000 + ts.tv_nsec / 1000000;
}

/* ms left until `deadline` (NO_TIMEOUT: wait forever), at least 0 */
static int left(int64_t deadline) {
  if (deadline < 0) return NO_TIMEOUT;
  int64_t d = deadline - now_ms();
  return d < 0 ? 0 : (int)d;
}

enum outcome {
  DONE,        /* the agent answered: exit with its status */
  UNREACHABLE, /* nothing was sent: no socket, nobody listening, not in time */
  CUT,         /* sent, but no complete answer: the agent may or may not have run it */
  REFUSED,     /* an HTTP error: the agent does not serve this request */
};

struct answer {
  enum outcome outcome;
  int status;      /* exit status (DONE) */
  int keep;        /* DONE: the agent asked to keep the call (`k` frame) */
  int error;       /* errno (UNREACHABLE, CUT) */
  const char *why; /* what failed (UNREACHABLE, CUT) */
};

static int connect_agent(const char *path, int64_t deadline, struct answer *a) {
  struct sockaddr_un addr = {.sun_family = AF_UNIX};
  strcpy(addr.sun_path, path);
  for (;;) {
    int fd = socket(AF_UNIX, SOCK_STREAM | SOCK_CLOEXEC | SOCK_NONBLOCK, 0);
    if (fd < 0) {
      *a = (struct answer){.outcome = UNREACHABLE, .error = errno, .why = "socket"};
      return -1;
    }
    if (connect(fd, (struct sockaddr *)&addr, sizeof addr) == 0) return fd;
    int err = errno;
    close(fd);
    /* EAGAIN: the listen backlog is full (the agent is busy): try again until the deadline */
    if (err == EAGAIN && left(deadline) != 0) {
      poll(NULL, 0, 2);
      continue;
    }
    *a = (struct answer){.outcome = UNREACHABLE, .error = err, .why = "connect"};
    return -1;
  }
}

/* waits until `fd` is ready; -1 with errno ETIMEDOUT at the deadline, EINTR when interrupted */
static int wait_fd(int fd, short events, int64_t deadline) {
  struct pollfd p = {.fd = fd, .events = events};
  for (;;) {
    int r = poll(&p, 1, left(deadline));
    if (r > 0) return 0;
    if (r == 0) {
      errno = ETIMEDOUT;
      return -1;
    }
    if (errno != EINTR || interrupted) return -1;
  }
}

static int write_all(int fd, const char *p, size_t n, int64_t deadline) {
  while (n > 0) {
    ssize_t w = write(fd, p, n);
    if (w > 0) {
      p += w;
      n -= (size_t)w;
    } else if (w < 0 && (errno == EAGAIN || errno == EINTR)) {
      if (wait_fd(fd, POLLOUT, deadline) < 0) return -1;
    } else {
      return -1;
    }
  }
  return 0;
}

/* the answer's frames, parsed as they arrive */
struct frames {
  char head[32];
  size_t head_len;
  int stream;       /* 1 stdout, 2 stderr, 0 reading a frame head */
  uint64_t pending; /* bytes of the current frame still to copy */
  int exit_status;  /* -1 until the `x` (or `k`) frame */
  int keep;         /* the last frame was `k` */
  int bad;
};

static void frames_feed(struct frames *f, const char *p, size_t n) {
  while (n > 0 && !f->bad && f->exit_status < 0) {
    if (f->stream) {
      size_t take = n < f->pending ? n : (size_t)f->pending;
      (void)write_all(f->stream, p, take, NO_TIMEOUT);
      p += take;
      n -= take;
      f->pending -= take;
      if (f->pending == 0) f->stream = 0;
      continue;
    }
    char c = *p++;
    n--;
    if (c != '\n') {
      if (f->head_len + 1 >= sizeof f->head) f->bad = 1;
      else f->head[f->head_len++] = c;
      continue;
    }
    f->head[f->head_len] = '\0';
    f->head_len = 0;
    char *end;
    unsigned long long v = strtoull(f->head + 2, &end, 10);
    if (f->head[1] != ' ' || *end != '\0' || end == f->head + 2) f->bad = 1;
    else if (f->head[0] == 'x') f->exit_status = v > 255 ? 1 : (int)v;
    else if (f->head[0] == 'k') {
      f->keep = 1;
      f->exit_status = 0;
    }
    else if (f->head[0] == 'o' || f->head[0] == 'e') {
      f->stream = f->head[0] == 'o' ? 1 : 2;
      f->pending = v;
      if (v == 0) f->stream = 0;
    } else f->bad = 1;
  }
}

/*
 * Sends `path` with `body` and prints the answer's frames. HTTP/1.0: the agent's answer ends when
 * it closes the connection (no chunked encoding to decode).
 */
static struct answer request(const struct config *c, const char *path, const struct buf *body, int timeout_ms, int print) {
  struct answer a;
  int64_t deadline = timeout_ms == NO_TIMEOUT ? -1 : now_ms() + timeout_ms;
  int fd = connect_agent(c->socket, deadline, &a);
  if (fd < 0) return a;
  struct buf req = {0};
  char head[256];
  snprintf(head, sizeof head,
           "POST %s HTTP/1.0\r\nHost: agent\r\nContent-Type: application/json\r\nContent-Length: %zu\r\n\r\n", path,
           body->len);
  buf_str(&req, head);
  buf_put(&req, body->p, body->len);
  int sent = write_all(fd, req.p, req.len, deadline);
  free(req.p);
  if (sent < 0) {
    a = (struct answer){.outcome = errno == EPIPE || errno == ECONNRESET ? UNREACHABLE : CUT, .error = errno, .why = "send"};
    close(fd);
    return a;
  }
  struct buf resp = {0};
  struct frames f = {.exit_status = -1};
  size_t body_at = 0;
  int status = 0;
  char chunk[65536];
  for (;;) {
    if (interrupted) {
      a = (struct answer){.outcome = DONE, .status = EXIT_OK};
      break;
    }
    if (wait_fd(fd, POLLIN, deadline) < 0) {
      if (errno == EINTR) continue; /* interrupted: checked above */
      a = (struct answer){.outcome = CUT, .error = errno, .why = "answer"};
      break;
    }
    ssize_t r = read(fd, chunk, sizeof chunk);
    if (r < 0 && (errno == EAGAIN || errno == EINTR)) continue; /* interrupted: checked above */
    if (r < 0) {
      a = (struct answer){.outcome = CUT, .error = errno, .why = "answer"};
      break;
    }
    if (r == 0) {
      if (status == 200 && f.exit_status >= 0) a = (struct answer){.outcome = DONE, .status = f.exit_status, .keep = f.keep};
      else if (status != 0 && status != 200) {
        a = (struct answer){.outcome = REFUSED, .status = status};
        if (print) complain("the agent answered HTTP %d: %s", status, body_at ? resp.p + body_at : "");
      } else a = (struct answer){.outcome = CUT, .error = 0, .why = "answer (cut short)"};
      break;
    }
    if (body_at == 0) {
      buf_put(&resp, chunk, (size_t)r);
      char *end = strstr(resp.p, "\r\n\r\n");
      if (!end) {
        if (resp.len > 65536) {
          a = (struct answer){.outcome = CUT, .error = EPROTO, .why = "answer (no HTTP header end)"};
          break;
        }
        continue;
      }
      if (sscanf(resp.p, "HTTP/1.%*d %d", &status) != 1) status = 999;
      body_at = (size_t)(end - resp.p) + 4;
      if (status == 200 && print) frames_feed(&f, resp.p + body_at, resp.len - body_at);
    } else if (status == 200) {
      if (print) frames_feed(&f, chunk, (size_t)r);
    } else {
      buf_put(&resp, chunk, (size_t)r);
    }
    if (f.bad) {
      a = (struct answer){.outcome = CUT, .error = EPROTO, .why = "answer (bad frame)"};
      break;
    }
    if (status == 200 && f.exit_status >= 0) {
      /* the exit (or keep) frame is the last: done without waiting for the agent to close the connection */
      a = (struct answer){.outcome = DONE, .status = f.exit_status, .keep = f.keep};
      break;
    }
  }
  free(resp.p);
  close(fd);
  return a;
}

static const char *explain(const struct answer *a) {
  switch (a->error) {
    case ENOENT: return "the socket does not exist (is the agent running with a ziti source?)";
    case ECONNREFUSED: return "nothing listens on the socket (the agent is not running)";
    case EACCES:
    case EPERM: return "permission denied (the socket is 0600: run as the agent's user, usually root)";
    case ENOTSOCK: return "the path is not a socket";
    case ETIMEDOUT: return "no answer in time";
    case 0: return "the connection closed early";
    default: return strerror(a->error);
  }
}

/* ------------------------------------------------------------------ the spool */

static int is_record_name(const char *name) {
  size_t n = strlen(name);
  if (n != 25 || strcmp(name + 20, ".call") != 0) return 0;
  for (int i = 0; i < 20; i++)
    if (name[i] < '0' || name[i] > '9') return 0;
  return 1;
}

/* the number of the last kept call (0: none kept) */
static int last_record(const char *dir, unsigned long long *last) {
  DIR *d = opendir(dir);
  if (!d) return -1;
  *last = 0;
  struct dirent *e;
  while ((e = readdir(d))) {
    if (!is_record_name(e->d_name)) continue;
    unsigned long long v = strtoull(e->d_name, NULL, 10);
    if (v > *last) *last = v;
  }
  closedir(d);
  return 0;
}

static int mkdir_p(const char *path) {
  char tmp[4096];
  snprintf(tmp, sizeof tmp, "%s", path);
  for (char *p = tmp + 1; *p; p++) {
    if (*p != '/') continue;
    *p = '\0';
    if (mkdir(tmp, 0755) < 0 && errno != EEXIST) return -1;
    *p = '/';
  }
  if (mkdir(tmp, 0700) < 0 && errno != EEXIST) return -1;
  return 0;
}

/* the spool's lock, taken by every client that changes rules (held while it forwards), never by the agent */
static int lock_spool(const struct config *c) {
  if (mkdir_p(c->spool) < 0) return -1;
  char path[4200];
  snprintf(path, sizeof path, "%s/.lock", c->spool);
  int fd = open(path, O_RDWR | O_CREAT | O_CLOEXEC, 0600);
  if (fd < 0) return -1;
  while (flock(fd, LOCK_EX) < 0)
    if (errno != EINTR) {
      close(fd);
      return -1;
    }
  return fd;
}

/*
 * keeps the call as the spool's next record after `last` (last_record, read under the spool's
 * lock): written whole under a temporary name, fsync'd, renamed
 */
static int keep_call(const struct config *c, const struct buf *call, unsigned long long last) {
  char tmp[4200], final[4200];
  snprintf(tmp, sizeof tmp, "%s/.tmp.%d", c->spool, (int)getpid());
  snprintf(final, sizeof final, "%s/%020llu.call", c->spool, last + 1);
  int fd = open(tmp, O_WRONLY | O_CREAT | O_TRUNC | O_CLOEXEC, 0600);
  if (fd < 0) return -1;
  struct timespec ts;
  clock_gettime(CLOCK_REALTIME, &ts);
  char at[64];
  snprintf(at, sizeof at, ",\"at\":%lld}\n", (long long)ts.tv_sec * 1000 + ts.tv_nsec / 1000000);
  struct buf rec = {0};
  buf_put(&rec, call->p, call->len - 1); /* without the closing brace */
  buf_str(&rec, at);
  int ok = write_all(fd, rec.p, rec.len, NO_TIMEOUT) == 0 && fsync(fd) == 0;
  free(rec.p);
  if (close(fd) < 0) ok = 0;
  if (!ok || rename(tmp, final) < 0) {
    int err = errno;
    unlink(tmp);
    errno = err;
    return -1;
  }
  int dfd = open(c->spool, O_RDONLY | O_DIRECTORY | O_CLOEXEC);
  if (dfd >= 0) {
    fsync(dfd);
    close(dfd);
  }
  return 0;
}

/* ------------------------------------------------------------------ main */

static int has_arg(int argc, char **argv, const char *const *names) {
  for (int i = 1; i < argc; i++)
    for (const char *const *n = names; *n; n++)
      if (strcmp(argv[i], *n) == 0) return 1;
  return 0;
}

/* calls that only read: never kept (their output is the point) */
static int reads_only(int argc, char **argv) {
  static const char *const names[] = {"-L", "--list", "-M", "--monitor", "--help", NULL};
  if (has_arg(argc, argv, names)) return 1;
  for (int i = 1; i < argc; i++) /* short flags given together: -Li, -LE */
    if (argv[i][0] == '-' && (argv[i][1] == 'L' || argv[i][1] == 'M') && argv[i][2] != '\0') return 1;
  return 0;
}

int main(int argc, char **argv) {
  const char *base = strrchr(argv[0], '/');
  base = base ? base + 1 : argv[0];
  if (strcmp(base, "map_update") == 0 || strcmp(base, "map_delete") == 0) program = base;
  signal(SIGPIPE, SIG_IGN);

  struct config c;
  load_config(&c);
  /*
   * the listeners where the router runs go with a delete (which service's rule goes) and with an
   * insert of an IPv6 address (whether anything can take its diverted connections): reading them
   * costs ~1 ms on a router with thousands of services, so not with every call
   */
  static const char *const deletes[] = {"-D", "--delete", NULL};
  static const char *const inserts[] = {"-I", "--insert", NULL};
  int ipv6 = 0;
  for (int i = 1; i < argc; i++) ipv6 |= strchr(argv[i], ':') != NULL;
  int listening = strcmp(program, "map_delete") == 0 || has_arg(argc, argv, deletes) || (ipv6 && has_arg(argc, argv, inserts));
  struct buf call = {0};
  call_json(&call, argc, argv, listening);

  static const char *const version[] = {"-V", "--version", NULL};
  if (argc == 2 && has_arg(argc, argv, version)) {
    printf("%s %s (native client)\n", program, BPFSTEER_VERSION);
    fflush(stdout);
    struct answer a = request(&c, "/v1/diverter", &call, VERSION_TIMEOUT_MS, 1);
    if (a.outcome == UNREACHABLE || a.outcome == CUT)
      complain("agent not reachable at %s: %s; changes are kept in %s and applied in order when it is back", c.socket,
               explain(&a), c.spool);
    return EXIT_OK; /* the router must be able to start before the agent */
  }

  if (reads_only(argc, argv)) {
    struct sigaction sa = {.sa_handler = on_interrupt}; /* no SA_RESTART: poll returns EINTR */
    sigaction(SIGINT, &sa, NULL);
    sigaction(SIGTERM, &sa, NULL);
    struct answer a = request(&c, "/v1/diverter", &call, NO_TIMEOUT, 1);
    if (a.outcome == DONE) return a.status;
    if (a.outcome != REFUSED) complain("agent not reachable at %s (%s: %s)", c.socket, a.why, explain(&a));
    return EXIT_AGENT;
  }

  int lock = lock_spool(&c);
  if (lock < 0) {
    complain("cannot use the spool %s: %s", c.spool, strerror(errno));
    return EXIT_AGENT;
  }
  unsigned long long last = 0;
  if (last_record(c.spool, &last) < 0) {
    complain("cannot read the spool %s: %s", c.spool, strerror(errno));
    return EXIT_AGENT;
  }
  if (last > 0) {
    /* calls kept earlier are not applied yet: this one goes after them */
    if (keep_call(&c, &call, last) < 0) {
      complain("cannot keep the call in %s: %s", c.spool, strerror(errno));
      return EXIT_AGENT;
    }
    close(lock);
    struct buf none = {.p = "{}", .len = 2};
    (void)request(&c, "/v1/diverter/drain", &none, KICK_TIMEOUT_MS, 0);
    complain("kept in %s: the agent applies it after the calls kept before it", c.spool);
    return EXIT_OK;
  }
  struct answer a = request(&c, "/v1/diverter", &call, CALL_TIMEOUT_MS, 1);
  if (a.outcome == DONE && a.keep) {
    if (keep_call(&c, &call, last) < 0) {
      complain("the agent cannot apply it now, and the call cannot be kept in %s: %s", c.spool, strerror(errno));
      return EXIT_AGENT;
    }
    complain("kept in %s: the agent applies it as soon as it can", c.spool);
    return EXIT_OK;
  }
  if (a.outcome == DONE) return a.status;
  if (a.outcome == REFUSED) return EXIT_AGENT;
  if (keep_call(&c, &call, last) < 0) {
    complain("agent not reachable at %s (%s: %s), and the call cannot be kept in %s: %s", c.socket, a.why, explain(&a),
             c.spool, strerror(errno));
    return EXIT_AGENT;
  }
  complain("agent not reachable at %s (%s: %s); kept in %s, applied in order when it is back", c.socket, a.why,
           explain(&a), c.spool);
  return EXIT_OK;
}
