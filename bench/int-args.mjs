// The positional integer arguments of a bench's command line, checked: a bad one exits 2 with the usage.

/** `intArg(i, fallback, what, min)`: process.argv[i] as an integer >= min (fallback when absent). */
export function intArgs(usage) {
  return (i, fallback, what, min) => {
    const v = Number(process.argv[i] ?? fallback);
    if (!Number.isInteger(v) || v < min) {
      console.error(`${what} must be an integer >= ${min}, got "${process.argv[i]}"\n${usage}`);
      process.exit(2);
    }
    return v;
  };
}
