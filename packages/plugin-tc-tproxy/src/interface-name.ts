/** Linux interface names: 1-15 bytes, no '/', ':' or whitespace, not "." or "..". */
export function interfaceNameProblem(name: unknown): string | undefined {
  if (typeof name !== 'string') return 'expected a string';
  if (name.length === 0 || Buffer.byteLength(name) > 15) return 'an interface name has 1-15 bytes';
  if (/[\s/:]/.test(name)) return "an interface name has no '/', ':' or whitespace";
  if (name === '.' || name === '..') return 'an interface name is not "." or ".."';
  return undefined;
}
