// Baseline for bench/map-update: the same HASH and LPM_TRIE updates as the TypeScript bench,
// done from a plain C loop with libbpf. Prints one JSON line per case: ns per element.
// usage: map_update <elements> <rounds>
#include <bpf/bpf.h>
#include <linux/bpf.h>
#include <stdint.h>
#include <stdio.h>
#include <stdlib.h>
#include <time.h>
#include <unistd.h>

static double now_ns(void) {
	struct timespec ts;
	clock_gettime(CLOCK_MONOTONIC, &ts);
	return ts.tv_sec * 1e9 + ts.tv_nsec;
}

struct lpm_key {
	uint32_t prefixlen;
	uint32_t addr;
};

static void fill(int type, uint32_t i, void *key) {
	if (type == BPF_MAP_TYPE_LPM_TRIE) {
		struct lpm_key *k = key;
		k->prefixlen = 32;
		k->addr = __builtin_bswap32(0x0a000000u + i);
	} else {
		*(uint32_t *)key = i;
	}
}

static double run(int type, uint32_t n, int batch) {
	LIBBPF_OPTS(bpf_map_create_opts, o, .map_flags = type == BPF_MAP_TYPE_LPM_TRIE ? BPF_F_NO_PREALLOC : 0);
	uint32_t key_size = type == BPF_MAP_TYPE_LPM_TRIE ? sizeof(struct lpm_key) : sizeof(uint32_t);
	int fd = bpf_map_create(type, "bench", key_size, sizeof(uint64_t), 131072, &o); // as bpf/bench_maps.bpf.c
	if (fd < 0) { perror("bpf_map_create"); exit(1); }
	uint8_t *keys = calloc(n, key_size);
	uint64_t *values = calloc(n, sizeof(uint64_t));
	for (uint32_t i = 0; i < n; i++) { fill(type, i, keys + (size_t)i * key_size); values[i] = i; }
	double t0 = now_ns();
	if (batch) {
		uint32_t count = n;
		LIBBPF_OPTS(bpf_map_batch_opts, bo);
		if (bpf_map_update_batch(fd, keys, values, &count, &bo) || count != n) { perror("batch"); exit(1); }
	} else {
		for (uint32_t i = 0; i < n; i++)
			if (bpf_map_update_elem(fd, keys + (size_t)i * key_size, &values[i], BPF_ANY)) { perror("update"); exit(1); }
	}
	double dt = now_ns() - t0;
	close(fd);
	free(keys);
	free(values);
	return dt / n;
}

int main(int argc, char **argv) {
	uint32_t n = argc > 1 ? (uint32_t)atoi(argv[1]) : 100000;
	int rounds = argc > 2 ? atoi(argv[2]) : 3;
	const struct { const char *name; int type; } maps[] = {
		{ "hash", BPF_MAP_TYPE_HASH }, { "lpm_trie", BPF_MAP_TYPE_LPM_TRIE } };
	for (int m = 0; m < 2; m++)
		for (int batch = 0; batch < 2; batch++) {
			double best = 1e18;
			for (int r = 0; r < rounds; r++) {
				double v = run(maps[m].type, n, batch);
				if (v < best) best = v;
			}
			printf("{\"map\":\"%s\",\"mode\":\"%s\",\"nsPerElement\":%.1f}\n", maps[m].name, batch ? "batch" : "single", best);
		}
	return 0;
}
