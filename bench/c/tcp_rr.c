// TCP connection-rate helper for bench/tproxy-traffic: a short-connection request/response load.
//
//   tcp_rr server <bind-ip> <port> <threads> [transparent]
//       listens (IP_TRANSPARENT when asked, needed behind iptables TPROXY), prints "ready <port>"
//       and serves until killed: per connection, read a request, write a reply, wait for the
//       client's close, close.
//   tcp_rr client <dst-ip> <port> <workers> <seconds>
//       <workers> threads each loop connect + send + recv + close for <seconds>; prints one JSON
//       line {"connections":N,"errors":E,"seconds":S,"rate":R}. The client closes first, so
//       TIME_WAIT stays on the client side (the bench enables tcp_tw_reuse there).
#define _GNU_SOURCE
#include <arpa/inet.h>
#include <errno.h>
#include <netinet/in.h>
#include <pthread.h>
#include <stdatomic.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/socket.h>
#include <sys/time.h>
#include <time.h>
#include <unistd.h>

#define REQUEST_BYTES 64
#define REPLY_BYTES 64

static struct sockaddr_storage addr;
static socklen_t addr_len;
static int listen_fd = -1;
static double deadline;
static atomic_long connections;
static atomic_long errors;

static double now_s(void) {
	struct timespec ts;
	clock_gettime(CLOCK_MONOTONIC, &ts);
	return ts.tv_sec + ts.tv_nsec / 1e9;
}

static void parse_addr(const char *ip, const char *port) {
	struct sockaddr_in *a4 = (struct sockaddr_in *)&addr;
	struct sockaddr_in6 *a6 = (struct sockaddr_in6 *)&addr;
	memset(&addr, 0, sizeof(addr));
	if (inet_pton(AF_INET, ip, &a4->sin_addr) == 1) {
		a4->sin_family = AF_INET;
		a4->sin_port = htons(atoi(port));
		addr_len = sizeof(*a4);
	} else if (inet_pton(AF_INET6, ip, &a6->sin6_addr) == 1) {
		a6->sin6_family = AF_INET6;
		a6->sin6_port = htons(atoi(port));
		addr_len = sizeof(*a6);
	} else {
		fprintf(stderr, "tcp_rr: bad address %s\n", ip);
		exit(2);
	}
}

/* reads exactly n bytes; 0 on success */
static int read_full(int fd, char *buf, size_t n) {
	size_t got = 0;
	while (got < n) {
		ssize_t r = recv(fd, buf + got, n - got, 0);
		if (r <= 0) return -1;
		got += (size_t)r;
	}
	return 0;
}

static void *serve(void *arg) {
	(void)arg;
	char buf[REQUEST_BYTES > REPLY_BYTES ? REQUEST_BYTES : REPLY_BYTES];
	memset(buf, 'r', sizeof(buf));
	for (;;) {
		int fd = accept(listen_fd, NULL, NULL);
		if (fd < 0) {
			if (errno == EINTR || errno == ECONNABORTED) continue;
			perror("tcp_rr: accept");
			exit(1);
		}
		if (read_full(fd, buf, REQUEST_BYTES) == 0 && send(fd, buf, REPLY_BYTES, MSG_NOSIGNAL) == REPLY_BYTES) {
			while (recv(fd, buf, sizeof(buf), 0) > 0) {
			}
		}
		close(fd);
	}
	return NULL;
}

static int server(int threads, int transparent) {
	int one = 1;
	listen_fd = socket(addr.ss_family, SOCK_STREAM, 0);
	if (listen_fd < 0) return perror("tcp_rr: socket"), 1;
	setsockopt(listen_fd, SOL_SOCKET, SO_REUSEADDR, &one, sizeof(one));
	if (transparent) {
		int level = addr.ss_family == AF_INET ? SOL_IP : SOL_IPV6;
		int opt = addr.ss_family == AF_INET ? IP_TRANSPARENT : IPV6_TRANSPARENT;
		if (setsockopt(listen_fd, level, opt, &one, sizeof(one)) < 0) return perror("tcp_rr: IP_TRANSPARENT"), 1;
	}
	if (bind(listen_fd, (struct sockaddr *)&addr, addr_len) < 0) return perror("tcp_rr: bind"), 1;
	if (listen(listen_fd, 4096) < 0) return perror("tcp_rr: listen"), 1;
	struct sockaddr_storage bound;
	socklen_t len = sizeof(bound);
	getsockname(listen_fd, (struct sockaddr *)&bound, &len);
	int port = ntohs(bound.ss_family == AF_INET ? ((struct sockaddr_in *)&bound)->sin_port
	                                            : ((struct sockaddr_in6 *)&bound)->sin6_port);
	for (int i = 0; i < threads; i++) {
		pthread_t t;
		if (pthread_create(&t, NULL, serve, NULL) != 0) return fprintf(stderr, "tcp_rr: pthread_create\n"), 1;
	}
	printf("ready %d\n", port);
	fflush(stdout);
	for (;;) pause();
}

static void *load(void *arg) {
	(void)arg;
	char buf[REQUEST_BYTES > REPLY_BYTES ? REQUEST_BYTES : REPLY_BYTES];
	memset(buf, 'q', sizeof(buf));
	struct timeval timeout = {.tv_sec = 2};
	while (now_s() < deadline) {
		int fd = socket(addr.ss_family, SOCK_STREAM, 0);
		if (fd < 0) {
			atomic_fetch_add(&errors, 1);
			continue;
		}
		setsockopt(fd, SOL_SOCKET, SO_SNDTIMEO, &timeout, sizeof(timeout));
		setsockopt(fd, SOL_SOCKET, SO_RCVTIMEO, &timeout, sizeof(timeout));
		if (connect(fd, (struct sockaddr *)&addr, addr_len) == 0 &&
		    send(fd, buf, REQUEST_BYTES, MSG_NOSIGNAL) == REQUEST_BYTES && read_full(fd, buf, REPLY_BYTES) == 0) {
			atomic_fetch_add(&connections, 1);
		} else {
			atomic_fetch_add(&errors, 1);
		}
		close(fd);
	}
	return NULL;
}

static int client(int workers, double seconds) {
	pthread_t threads[256];
	if (workers < 1 || workers > 256) return fprintf(stderr, "tcp_rr: workers must be 1..256\n"), 2;
	double start = now_s();
	deadline = start + seconds;
	for (int i = 0; i < workers; i++) pthread_create(&threads[i], NULL, load, NULL);
	for (int i = 0; i < workers; i++) pthread_join(threads[i], NULL);
	double took = now_s() - start;
	long n = atomic_load(&connections);
	printf("{\"connections\":%ld,\"errors\":%ld,\"seconds\":%.3f,\"rate\":%.1f}\n", n, atomic_load(&errors), took, n / took);
	return 0;
}

int main(int argc, char **argv) {
	if (argc >= 5 && strcmp(argv[1], "server") == 0) {
		parse_addr(argv[2], argv[3]);
		return server(atoi(argv[4]), argc > 5 && strcmp(argv[5], "transparent") == 0);
	}
	if (argc == 6 && strcmp(argv[1], "client") == 0) {
		parse_addr(argv[2], argv[3]);
		return client(atoi(argv[4]), atof(argv[5]));
	}
	fprintf(stderr, "usage: tcp_rr server <ip> <port> <threads> [transparent] | tcp_rr client <ip> <port> <workers> <seconds>\n");
	return 2;
}
