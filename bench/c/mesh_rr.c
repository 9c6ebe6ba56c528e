// Short-connection load for bench/sklookup-traffic: a proxy-like server that reports the original
// destination of each connection, and a client that checks it.
//
//   mesh_rr server <port> <threads>
//       listens on 0.0.0.0:<port> (run it inside the pod netns), prints "ready <listen-fd>" and serves
//       until killed. Per connection: learn the original destination (getsockname; when that is the
//       listening port itself, SO_ORIGINAL_DST as a REDIRECT-based proxy does), read the 64-byte
//       request, answer 64 bytes starting with "dst <ip>:<port>", wait for the client's close, close.
//   mesh_rr client <dst-ip> <port> <workers> <seconds> [tos]
//       <workers> threads loop connect + send + recv + close for <seconds> (IP_TOS = <tos> on each
//       socket when given, e.g. 0x5c for DSCP 0x17). A reply naming another destination than the
//       one connected to counts as "wrong". Prints one JSON line
//       {"connections":N,"errors":E,"wrong":W,"seconds":S,"rate":R}.
#define _GNU_SOURCE
#include <arpa/inet.h>
#include <errno.h>
#include <linux/netfilter_ipv4.h>
#include <netinet/in.h>
#include <pthread.h>
#include <stdatomic.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/socket.h>
#include <time.h>
#include <unistd.h>

#define MSG_BYTES 64

static int listen_fd = -1;
static int listen_port;
static struct sockaddr_in target;
static char expected[MSG_BYTES];
static size_t expected_len;
static int tos = -1;
static double deadline;
static atomic_long done_ok, failed, wrong;

static double now_s(void) {
	struct timespec ts;
	clock_gettime(CLOCK_MONOTONIC, &ts);
	return (double)ts.tv_sec + (double)ts.tv_nsec / 1e9;
}

static int recv_exact(int fd, char *buf, size_t n) {
	size_t have = 0;
	while (have < n) {
		ssize_t r = recv(fd, buf + have, n - have, 0);
		if (r <= 0) return -1;
		have += (size_t)r;
	}
	return 0;
}

/* "dst a.b.c.d:port" of an accepted connection, NUL-padded to MSG_BYTES */
static void describe_destination(int fd, char *out) {
	struct sockaddr_in local;
	socklen_t len = sizeof(local);
	memset(out, 0, MSG_BYTES);
	if (getsockname(fd, (struct sockaddr *)&local, &len) != 0) return;
	if (ntohs(local.sin_port) == listen_port) {
		struct sockaddr_in orig;
		socklen_t olen = sizeof(orig);
		if (getsockopt(fd, SOL_IP, SO_ORIGINAL_DST, &orig, &olen) == 0) local = orig;
	}
	char ip[INET_ADDRSTRLEN];
	inet_ntop(AF_INET, &local.sin_addr, ip, sizeof(ip));
	snprintf(out, MSG_BYTES, "dst %s:%d", ip, ntohs(local.sin_port));
}

static void *serve_loop(void *unused) {
	(void)unused;
	char request[MSG_BYTES], reply[MSG_BYTES];
	for (;;) {
		int fd = accept(listen_fd, NULL, NULL);
		if (fd < 0) {
			if (errno == EINTR || errno == ECONNABORTED) continue;
			perror("mesh_rr: accept");
			exit(1);
		}
		describe_destination(fd, reply);
		if (recv_exact(fd, request, MSG_BYTES) == 0 && send(fd, reply, MSG_BYTES, MSG_NOSIGNAL) == MSG_BYTES) {
			while (recv(fd, request, sizeof(request), 0) > 0) {
			}
		}
		close(fd);
	}
	return NULL;
}

static int run_server(int port, int threads) {
	int on = 1;
	struct sockaddr_in any = {.sin_family = AF_INET, .sin_port = htons(port), .sin_addr = {htonl(INADDR_ANY)}};
	listen_port = port;
	listen_fd = socket(AF_INET, SOCK_STREAM, 0);
	if (listen_fd < 0) return perror("mesh_rr: socket"), 1;
	setsockopt(listen_fd, SOL_SOCKET, SO_REUSEADDR, &on, sizeof(on));
	if (bind(listen_fd, (struct sockaddr *)&any, sizeof(any)) != 0) return perror("mesh_rr: bind"), 1;
	if (listen(listen_fd, 4096) != 0) return perror("mesh_rr: listen"), 1;
	for (int i = 0; i < threads; i++) {
		pthread_t t;
		if (pthread_create(&t, NULL, serve_loop, NULL) != 0) return fprintf(stderr, "mesh_rr: pthread_create failed\n"), 1;
	}
	printf("ready %d\n", listen_fd);
	fflush(stdout);
	for (;;) pause();
}

static void *load_loop(void *unused) {
	(void)unused;
	char request[MSG_BYTES], reply[MSG_BYTES];
	memset(request, 'q', sizeof(request));
	struct timeval limit = {.tv_sec = 2};
	while (now_s() < deadline) {
		int fd = socket(AF_INET, SOCK_STREAM, 0);
		if (fd < 0) {
			atomic_fetch_add(&failed, 1);
			continue;
		}
		setsockopt(fd, SOL_SOCKET, SO_SNDTIMEO, &limit, sizeof(limit));
		setsockopt(fd, SOL_SOCKET, SO_RCVTIMEO, &limit, sizeof(limit));
		if (tos >= 0) setsockopt(fd, IPPROTO_IP, IP_TOS, &tos, sizeof(tos));
		if (connect(fd, (struct sockaddr *)&target, sizeof(target)) == 0 &&
		    send(fd, request, MSG_BYTES, MSG_NOSIGNAL) == MSG_BYTES && recv_exact(fd, reply, MSG_BYTES) == 0) {
			if (strncmp(reply, expected, expected_len + 1) == 0) atomic_fetch_add(&done_ok, 1);
			else atomic_fetch_add(&wrong, 1);
		} else {
			atomic_fetch_add(&failed, 1);
		}
		close(fd);
	}
	return NULL;
}

static int run_client(const char *ip, int port, int workers, double seconds) {
	pthread_t threads[256];
	if (workers < 1 || workers > 256) return fprintf(stderr, "mesh_rr: workers must be 1..256\n"), 2;
	target.sin_family = AF_INET;
	target.sin_port = htons(port);
	if (inet_pton(AF_INET, ip, &target.sin_addr) != 1) return fprintf(stderr, "mesh_rr: bad IPv4 address %s\n", ip), 2;
	snprintf(expected, sizeof(expected), "dst %s:%d", ip, port);
	expected_len = strlen(expected);
	double start = now_s();
	deadline = start + seconds;
	for (int i = 0; i < workers; i++) pthread_create(&threads[i], NULL, load_loop, NULL);
	for (int i = 0; i < workers; i++) pthread_join(threads[i], NULL);
	double took = now_s() - start;
	long n = atomic_load(&done_ok);
	printf("{\"connections\":%ld,\"errors\":%ld,\"wrong\":%ld,\"seconds\":%.3f,\"rate\":%.1f}\n", n, atomic_load(&failed),
	       atomic_load(&wrong), took, (double)n / took);
	return 0;
}

int main(int argc, char **argv) {
	if (argc == 4 && strcmp(argv[1], "server") == 0) return run_server(atoi(argv[2]), atoi(argv[3]));
	if ((argc == 6 || argc == 7) && strcmp(argv[1], "client") == 0) {
		if (argc == 7) tos = (int)strtol(argv[6], NULL, 0);
		return run_client(argv[2], atoi(argv[3]), atoi(argv[4]), atof(argv[5]));
	}
	fprintf(stderr, "usage: mesh_rr server <port> <threads> | mesh_rr client <dst-ip> <port> <workers> <seconds> [tos]\n");
	return 2;
}
