/** Pure helpers for verifier logs and libbpf's load messages. */

/** The C string at the start of a log buffer. */
export function logText(buf: Uint8Array): string {
  const end = buf.indexOf(0);
  return Buffer.from(buf.buffer, buf.byteOffset, end < 0 ? buf.length : end).toString('utf8');
}

/**
 * The program whose load failed, from libbpf's messages ("prog 'x': BPF program load failed: ...",
 * "prog 'x': failed to load: -13", "failed to load program 'x'"), if one is named.
 */
export function failedProgramFromLines(lines: readonly string[]): string | undefined {
  const patterns = [
    /prog '([^']+)': BPF program load failed/,
    /prog '([^']+)': failed to load/,
    /failed to load program '([^']+)'/,
    /prog '([^']+)': failed to relocate/,
  ];
  for (const line of lines) {
    for (const re of patterns) {
      const m = re.exec(line);
      if (m) return m[1];
    }
  }
  return undefined;
}

/** libbpf's lines worth quoting in an error, most relevant last, shortened. */
export function summarizeLibbpfLines(lines: readonly string[], max = 4): string | undefined {
  const relevant = lines.filter((l) => !/^loading object|BEGIN PROG LOAD LOG|END PROG LOAD LOG/.test(l)).map((l) => l.trim());
  if (relevant.length === 0) return undefined;
  return relevant.slice(-max).join('; ');
}
