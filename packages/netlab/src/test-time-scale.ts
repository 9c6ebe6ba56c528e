/**
 * How much slower than this machine's own the tests' machine runs: 1 here, more in the kernel
 * matrix's guest, whose CPU qemu emulates (scripts/kernel-matrix/suite.sh sets
 * BPFSTEER_TEST_TIME_SCALE). A test whose scenario rests on one step being shorter than a configured
 * period (a restart within a grace period) scales that period with it.
 */
export function testTimeScale(): number {
  const text = process.env.BPFSTEER_TEST_TIME_SCALE;
  if (text === undefined || text === '') return 1;
  const scale = Number(text);
  if (!Number.isFinite(scale) || scale < 1) throw new Error(`BPFSTEER_TEST_TIME_SCALE must be a number >= 1, got "${text}"`);
  return scale;
}
