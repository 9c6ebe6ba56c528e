// LD_PRELOAD shim for bench/tproxy-traffic: sets IP_TRANSPARENT (IPV6_TRANSPARENT) on every
// IPv4/IPv6 socket just before bind(), so an unmodified iperf3 server can take connections that
// iptables TPROXY hands to it (xt_TPROXY only assigns transparent sockets).
#define _GNU_SOURCE
#include <dlfcn.h>
#include <netinet/in.h>
#include <sys/socket.h>

typedef int (*bind_fn)(int, const struct sockaddr *, socklen_t);

int bind(int fd, const struct sockaddr *sa, socklen_t len) {
	static bind_fn real_bind;
	if (!real_bind) real_bind = (bind_fn)dlsym(RTLD_NEXT, "bind");
	int one = 1;
	if (sa && sa->sa_family == AF_INET) setsockopt(fd, SOL_IP, IP_TRANSPARENT, &one, sizeof(one));
	if (sa && sa->sa_family == AF_INET6) setsockopt(fd, SOL_IPV6, IPV6_TRANSPARENT, &one, sizeof(one));
	return real_bind(fd, sa, len);
}
