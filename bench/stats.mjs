// Order statistics of samples.

/** The p-th percentile (0..100) of `xs`, nearest rank. */
export function percentile(xs, p) {
  if (xs.length === 0) throw new Error('percentile of no samples');
  const sorted = [...xs].sort((a, b) => a - b);
  return sorted[Math.min(sorted.length - 1, Math.max(0, Math.ceil((p / 100) * sorted.length) - 1))];
}

export const median = (xs) => percentile(xs, 50);
