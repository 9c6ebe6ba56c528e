/** Bit operations on network-order address bytes (any length): masking, host bits, prefix equality. */

/** A copy of `bytes` with every bit after the first `length` bits cleared. */
export function maskBytes(bytes: Uint8Array, length: number): Uint8Array {
  const out = new Uint8Array(bytes);
  const full = length >> 3;
  if (full >= out.length) return out;
  out[full] &= (0xff << (8 - (length & 7))) & 0xff;
  out.fill(0, full + 1);
  return out;
}

/** Whether any bit after the first `length` bits of `bytes` is set. */
export function hasHostBits(bytes: Uint8Array, length: number): boolean {
  const full = length >> 3;
  if (full >= bytes.length) return false;
  if (bytes[full] & (0xff >> (length & 7))) return true;
  for (let i = full + 1; i < bytes.length; i++) if (bytes[i] !== 0) return true;
  return false;
}

/** Whether the first `length` bits of `a` and `b` are equal. */
export function bitsEqual(a: Uint8Array, b: Uint8Array, length: number): boolean {
  const full = length >> 3;
  for (let i = 0; i < full; i++) if (a[i] !== b[i]) return false;
  const rest = length & 7;
  if (rest === 0) return true;
  const mask = (0xff << (8 - rest)) & 0xff;
  return (a[full] & mask) === (b[full] & mask);
}
