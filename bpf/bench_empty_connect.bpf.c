// SPDX-License-Identifier: Apache-2.0
/* Benchmark baseline: the cheapest possible cgroup/connect4 program (every connect goes on as asked). */
#include <linux/bpf.h>
#include <bpf/bpf_helpers.h>

SEC("cgroup/connect4")
int bench_empty_connect4(struct bpf_sock_addr *ctx)
{
	return 1;
}

char LICENSE[] SEC("license") = "GPL";
