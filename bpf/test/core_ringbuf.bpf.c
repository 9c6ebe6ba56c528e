// SPDX-License-Identifier: GPL-2.0
/* Fixture for core-bpf's RingBuffer: a tc program that writes one fixed-size record per run into a
 * BPF_MAP_TYPE_RINGBUF, so BPF_PROG_TEST_RUN (with `repeat`) produces any number of records in a known
 * order. Record layout (16 bytes, little endian on the test machines):
 *   u64 seq    -- 0, 1, 2, ... (per loaded object; core_rb_stats[0] is the next one)
 *   u32 len    -- skb->len of the run, so a test can tag the records of one run
 *   u32 magic  -- CORE_RB_MAGIC
 * core_rb_stats[1] counts records the ring had no room for. */
#include <linux/bpf.h>
#include <bpf/bpf_helpers.h>

#define CORE_RB_MAGIC 0x52494e47 /* "RING" */

struct core_rb_record {
	__u64 seq;
	__u32 len;
	__u32 magic;
};

struct {
	__uint(type, BPF_MAP_TYPE_RINGBUF);
	__uint(max_entries, 1 << 20);
} core_rb_events SEC(".maps");

struct {
	__uint(type, BPF_MAP_TYPE_ARRAY);
	__uint(max_entries, 2);
	__type(key, __u32);
	__type(value, __u64);
} core_rb_stats SEC(".maps");

SEC("tc")
int core_rb_emit(struct __sk_buff *skb)
{
	__u32 next_slot = 0, dropped_slot = 1;
	__u64 *next = bpf_map_lookup_elem(&core_rb_stats, &next_slot);
	__u64 *dropped = bpf_map_lookup_elem(&core_rb_stats, &dropped_slot);
	struct core_rb_record rec = { .len = skb->len, .magic = CORE_RB_MAGIC };

	if (!next || !dropped)
		return 0;
	/* test runs of one program execute on one cpu, one at a time: no atomics needed */
	rec.seq = *next;
	*next = rec.seq + 1;
	if (bpf_ringbuf_output(&core_rb_events, &rec, sizeof(rec), 0))
		*dropped += 1;
	return 0;
}

char _license[] SEC("license") = "GPL";
