// SPDX-License-Identifier: GPL-2.0
/* Fixture for core-bpf: one program the verifier accepts and one it rejects (reads packet
 * data without a bounds check), to test verifier log capture. */
#include <linux/bpf.h>
#include <bpf/bpf_helpers.h>

SEC("tc")
int core_good(struct __sk_buff *skb)
{
	return 0;
}

SEC("tc")
int core_unchecked_read(struct __sk_buff *skb)
{
	unsigned char *data = (void *)(long)skb->data;

	return data[20];
}

char _license[] SEC("license") = "GPL";
