// bench/diverter-call's transport floor: a unix socket server that answers every request the way
// the agent answers a diverter call, with no work in between: it reads the HTTP/1.0 request (headers
// and content-length body), writes "200" with the exit frame "x 0\n" and closes. One connection at
// a time, as the router's calls come.
// usage: frames_server <socket path>   prints "ready" once it listens; runs until killed.
#define _GNU_SOURCE
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/socket.h>
#include <sys/un.h>
#include <unistd.h>

static const char ANSWER[] = "HTTP/1.0 200 OK\r\ncontent-type: application/x-bpfsteer-diverter-frames\r\n\r\nx 0\n";

/* Reads one request (headers, then content-length bytes of body); 0 when complete. */
static int read_request(int fd) {
  char buf[1 << 16];
  size_t got = 0;
  for (;;) {
    ssize_t n = read(fd, buf + got, sizeof buf - 1 - got);
    if (n <= 0) return -1;
    got += (size_t)n;
    buf[got] = '\0';
    char *end = strstr(buf, "\r\n\r\n");
    if (end == NULL) {
      if (got == sizeof buf - 1) return -1;
      continue;
    }
    long want = 0;
    for (char *p = buf; p < end; p++) {
      if (strncasecmp(p, "content-length:", 15) == 0) {
        want = strtol(p + 15, NULL, 10);
        break;
      }
    }
    if ((long)(got - (size_t)(end + 4 - buf)) >= want) return 0;
    if (got == sizeof buf - 1) return -1;
  }
}

int main(int argc, char **argv) {
  if (argc != 2) {
    fprintf(stderr, "usage: frames_server <socket path>\n");
    return 2;
  }
  int s = socket(AF_UNIX, SOCK_STREAM | SOCK_CLOEXEC, 0);
  struct sockaddr_un addr = {.sun_family = AF_UNIX};
  if (strlen(argv[1]) >= sizeof addr.sun_path) {
    fprintf(stderr, "socket path too long\n");
    return 2;
  }
  strcpy(addr.sun_path, argv[1]);
  unlink(argv[1]);
  if (s < 0 || bind(s, (struct sockaddr *)&addr, sizeof addr) < 0 || listen(s, 64) < 0) {
    perror("frames_server");
    return 1;
  }
  printf("ready\n");
  fflush(stdout);
  for (;;) {
    int c = accept4(s, NULL, NULL, SOCK_CLOEXEC);
    if (c < 0) continue;
    if (read_request(c) == 0) (void)!write(c, ANSWER, sizeof ANSWER - 1);
    close(c);
  }
}
