// The baseline of bench/sklookup-traffic's per-lookup table: an sk_lookup program that passes
// every lookup to the normal socket lookup and does nothing else.
#include <linux/bpf.h>
#include <bpf/bpf_helpers.h>

SEC("sk_lookup")
int mesh_empty_sk_lookup(struct bpf_sk_lookup *ctx)
{
	return SK_PASS;
}

char LICENSE[] SEC("license") = "Dual BSD/GPL";
