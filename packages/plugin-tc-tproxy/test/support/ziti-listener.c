// SPDX-License-Identifier: Apache-2.0
/*
 * A test fixture that behaves like an OpenZiti router's tproxy listeners: TCP and UDP sockets on
 * 127.0.0.1 and [::1] (ephemeral ports), IP_TRANSPARENT, asking for the original destination of
 * UDP datagrams. tc_tproxy diverts traffic to them with bpf_sk_assign.
 *
 * Prints {"tcp4":P,"udp4":P,"tcp6":P,"udp6":P} on stdout once listening, then answers every TCP
 * connection and UDP datagram with one line of text:
 *
 *   orig=<original destination> peer=<client> data=<first line received>
 *
 * TCP: the original destination is the accepted socket's local address. UDP: it comes from the
 * IP_ORIGDSTADDR / IPV6_ORIGDSTADDR control message, and the answer is sent from a new socket
 * bound to that address (as a tproxy must, so the client sees the reply from where it sent to).
 * Addresses print as 10.0.0.1:80 and [fd00::1]:80. Exits on SIGTERM or when its parent dies.
 */
#define _GNU_SOURCE
#include <arpa/inet.h>
#include <errno.h>
#include <netinet/in.h>
#include <poll.h>
#include <signal.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/prctl.h>
#include <sys/socket.h>
#include <sys/time.h>
#include <unistd.h>

#ifndef IP_TRANSPARENT
#define IP_TRANSPARENT 19
#endif
#ifndef IP_RECVORIGDSTADDR
#define IP_RECVORIGDSTADDR 20
#endif
#ifndef IP_ORIGDSTADDR
#define IP_ORIGDSTADDR IP_RECVORIGDSTADDR
#endif
#ifndef IPV6_TRANSPARENT
#define IPV6_TRANSPARENT 75
#endif
#ifndef IPV6_RECVORIGDSTADDR
#define IPV6_RECVORIGDSTADDR 74
#endif
#ifndef IPV6_ORIGDSTADDR
#define IPV6_ORIGDSTADDR IPV6_RECVORIGDSTADDR
#endif

#define MAX_TEXT 1024

static void die(const char *what)
{
	fprintf(stderr, "ziti-listener: %s: %s\n", what, strerror(errno));
	exit(1);
}

static void set_int(int fd, int level, int name, int value, const char *what)
{
	if (setsockopt(fd, level, name, &value, sizeof(value)) < 0)
		die(what);
}

/* SO_REUSEADDR and IP(V6)_TRANSPARENT; IPv6 sockets are IPv6 only */
static void set_tproxy_options(int fd, int family)
{
	set_int(fd, SOL_SOCKET, SO_REUSEADDR, 1, "SO_REUSEADDR");
	if (family == AF_INET) {
		set_int(fd, SOL_IP, IP_TRANSPARENT, 1, "IP_TRANSPARENT");
	} else {
		set_int(fd, SOL_IPV6, IPV6_V6ONLY, 1, "IPV6_V6ONLY");
		set_int(fd, SOL_IPV6, IPV6_TRANSPARENT, 1, "IPV6_TRANSPARENT");
	}
}

static socklen_t loopback(struct sockaddr_storage *ss, int family)
{
	memset(ss, 0, sizeof(*ss));
	if (family == AF_INET) {
		struct sockaddr_in *in = (struct sockaddr_in *)ss;

		in->sin_family = AF_INET;
		in->sin_addr.s_addr = htonl(INADDR_LOOPBACK);
		return sizeof(*in);
	}
	struct sockaddr_in6 *in6 = (struct sockaddr_in6 *)ss;

	in6->sin6_family = AF_INET6;
	in6->sin6_addr = in6addr_loopback;
	return sizeof(*in6);
}

static int port_of(const struct sockaddr_storage *ss)
{
	if (ss->ss_family == AF_INET)
		return ntohs(((const struct sockaddr_in *)ss)->sin_port);
	return ntohs(((const struct sockaddr_in6 *)ss)->sin6_port);
}

/* "10.0.0.1:80" or "[fd00::1]:80" */
static void format_address(const struct sockaddr_storage *ss, char *out, size_t size)
{
	char ip[INET6_ADDRSTRLEN] = "?";

	if (ss->ss_family == AF_INET) {
		inet_ntop(AF_INET, &((const struct sockaddr_in *)ss)->sin_addr, ip, sizeof(ip));
		snprintf(out, size, "%s:%d", ip, port_of(ss));
	} else {
		inet_ntop(AF_INET6, &((const struct sockaddr_in6 *)ss)->sin6_addr, ip, sizeof(ip));
		snprintf(out, size, "[%s]:%d", ip, port_of(ss));
	}
}

/* a listening (TCP) or bound (UDP) tproxy socket on the loopback address; returns the fd */
static int open_listener(int family, int type, int *port)
{
	struct sockaddr_storage ss;
	socklen_t len = loopback(&ss, family);
	int fd = socket(family, type, 0);

	if (fd < 0)
		die("socket");
	set_tproxy_options(fd, family);
	if (family == AF_INET)
		set_int(fd, SOL_IP, IP_RECVORIGDSTADDR, 1, "IP_RECVORIGDSTADDR");
	else
		set_int(fd, SOL_IPV6, IPV6_RECVORIGDSTADDR, 1, "IPV6_RECVORIGDSTADDR");
	if (bind(fd, (struct sockaddr *)&ss, len) < 0)
		die("bind");
	if (type == SOCK_STREAM && listen(fd, 64) < 0)
		die("listen");
	len = sizeof(ss);
	if (getsockname(fd, (struct sockaddr *)&ss, &len) < 0)
		die("getsockname");
	*port = port_of(&ss);
	return fd;
}

/* the received bytes up to the first line end, as text */
static void first_line(char *data, ssize_t n)
{
	if (n < 0)
		n = 0;
	data[n] = '\0';
	data[strcspn(data, "\r\n")] = '\0';
}

static void reply_text(char *out, size_t size, const struct sockaddr_storage *orig,
		       const struct sockaddr_storage *peer, const char *data)
{
	char o[INET6_ADDRSTRLEN + 8], p[INET6_ADDRSTRLEN + 8];

	format_address(orig, o, sizeof(o));
	format_address(peer, p, sizeof(p));
	snprintf(out, size, "orig=%s peer=%s data=%s\n", o, p, data);
}

/* one connection: read the first chunk (5 s at most), answer, close */
static void serve_tcp(int listener)
{
	struct sockaddr_storage orig, peer;
	socklen_t olen = sizeof(orig), plen = sizeof(peer);
	struct timeval timeout = { .tv_sec = 5 };
	char data[MAX_TEXT], text[2 * MAX_TEXT];
	int fd = accept(listener, (struct sockaddr *)&peer, &plen);

	if (fd < 0)
		return;
	setsockopt(fd, SOL_SOCKET, SO_RCVTIMEO, &timeout, sizeof(timeout));
	if (getsockname(fd, (struct sockaddr *)&orig, &olen) == 0) {
		first_line(data, recv(fd, data, sizeof(data) - 1, 0));
		reply_text(text, sizeof(text), &orig, &peer, data);
		if (send(fd, text, strlen(text), MSG_NOSIGNAL) < 0)
			fprintf(stderr, "ziti-listener: tcp send: %s\n", strerror(errno));
	}
	close(fd);
}

/* the original destination from the control messages; 0 when present */
static int original_destination(struct msghdr *msg, struct sockaddr_storage *orig)
{
	for (struct cmsghdr *c = CMSG_FIRSTHDR(msg); c; c = CMSG_NXTHDR(msg, c)) {
		if (c->cmsg_level == SOL_IP && c->cmsg_type == IP_ORIGDSTADDR) {
			memcpy(orig, CMSG_DATA(c), sizeof(struct sockaddr_in));
			return 0;
		}
		if (c->cmsg_level == SOL_IPV6 && c->cmsg_type == IPV6_ORIGDSTADDR) {
			memcpy(orig, CMSG_DATA(c), sizeof(struct sockaddr_in6));
			return 0;
		}
	}
	return -1;
}

/* send `text` to `peer` from a fresh socket bound to `orig` */
static void reply_from(const struct sockaddr_storage *orig, const struct sockaddr_storage *peer,
		       const char *text)
{
	socklen_t len = orig->ss_family == AF_INET ? sizeof(struct sockaddr_in)
						    : sizeof(struct sockaddr_in6);
	int fd = socket(orig->ss_family, SOCK_DGRAM, 0);

	if (fd < 0) {
		fprintf(stderr, "ziti-listener: udp reply socket: %s\n", strerror(errno));
		return;
	}
	set_tproxy_options(fd, orig->ss_family);
	if (bind(fd, (const struct sockaddr *)orig, len) < 0 ||
	    sendto(fd, text, strlen(text), 0, (const struct sockaddr *)peer, len) < 0)
		fprintf(stderr, "ziti-listener: udp reply: %s\n", strerror(errno));
	close(fd);
}

static void serve_udp(int fd)
{
	struct sockaddr_storage orig, peer;
	char data[MAX_TEXT], text[2 * MAX_TEXT];
	char control[256];
	struct iovec iov = { .iov_base = data, .iov_len = sizeof(data) - 1 };
	struct msghdr msg = {
		.msg_name = &peer,
		.msg_namelen = sizeof(peer),
		.msg_iov = &iov,
		.msg_iovlen = 1,
		.msg_control = control,
		.msg_controllen = sizeof(control),
	};
	ssize_t n = recvmsg(fd, &msg, 0);

	if (n < 0)
		return;
	memset(&orig, 0, sizeof(orig));
	if (original_destination(&msg, &orig) < 0) {
		fprintf(stderr, "ziti-listener: udp datagram without an original destination\n");
		return;
	}
	first_line(data, n);
	reply_text(text, sizeof(text), &orig, &peer, data);
	reply_from(&orig, &peer, text);
}

int main(void)
{
	pid_t parent = getppid();
	struct pollfd fds[4];
	int ports[4];
	const int types[4] = { SOCK_STREAM, SOCK_DGRAM, SOCK_STREAM, SOCK_DGRAM };
	const int families[4] = { AF_INET, AF_INET, AF_INET6, AF_INET6 };

	prctl(PR_SET_PDEATHSIG, SIGTERM);
	if (getppid() != parent)
		return 0;
	for (int i = 0; i < 4; i++) {
		fds[i].fd = open_listener(families[i], types[i], &ports[i]);
		fds[i].events = POLLIN;
	}
	printf("{\"tcp4\":%d,\"udp4\":%d,\"tcp6\":%d,\"udp6\":%d}\n", ports[0], ports[1], ports[2],
	       ports[3]);
	fflush(stdout);
	for (;;) {
		if (poll(fds, 4, -1) < 0) {
			if (errno == EINTR)
				continue;
			die("poll");
		}
		for (int i = 0; i < 4; i++) {
			if (!(fds[i].revents & POLLIN))
				continue;
			if (types[i] == SOCK_STREAM)
				serve_tcp(fds[i].fd);
			else
				serve_udp(fds[i].fd);
		}
	}
}
