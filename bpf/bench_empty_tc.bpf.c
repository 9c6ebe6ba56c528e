// SPDX-License-Identifier: Apache-2.0
/* Benchmark baseline: the cheapest possible tc program (every packet continues). */
#include <linux/bpf.h>
#include <linux/pkt_cls.h>
#include <bpf/bpf_helpers.h>

SEC("tc")
int bench_empty_tc(struct __sk_buff *skb)
{
	return TC_ACT_OK;
}

char LICENSE[] SEC("license") = "GPL";
