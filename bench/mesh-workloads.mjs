// The synthetic workloads of bench/xds-convergence (shared by the bench and its fake Istiod).

/** IPv4 address of workload number i (i >= 0): 10.64.0.0/10 onwards. */
export function workloadAddress(i) {
  return `10.${64 + (i >> 16)}.${(i >> 8) & 255}.${i & 255}`;
}
