// Maps for bench/map-update: the same HASH and LPM_TRIE shapes as bench/c/map_update.c creates,
// so the TypeScript path and the plain C loop update identical kernel maps.
#include <linux/bpf.h>
#include <bpf/bpf_helpers.h>

#define BENCH_MAX_ENTRIES 131072

struct bench_lpm_key {
	__u32 prefixlen;
	__be32 addr;
};

struct {
	__uint(type, BPF_MAP_TYPE_HASH);
	__uint(max_entries, BENCH_MAX_ENTRIES);
	__type(key, __u32);
	__type(value, __u64);
} bench_hash SEC(".maps");

struct {
	__uint(type, BPF_MAP_TYPE_LPM_TRIE);
	__uint(max_entries, BENCH_MAX_ENTRIES);
	__uint(map_flags, BPF_F_NO_PREALLOC);
	__type(key, struct bench_lpm_key);
	__type(value, __u64);
} bench_lpm SEC(".maps");

SEC("tc")
int bench_maps_touch(struct __sk_buff *skb)
{
	__u32 k = 0;
	return bpf_map_lookup_elem(&bench_hash, &k) ? 1 : 0;
}

char LICENSE[] SEC("license") = "GPL";
