import { fileURLToPath } from 'node:url';

/**
 * Path of the compiled BPF object shipped in this package (`bpf/connect_redirect.bpf.o`, copied
 * there by the package build), found relative to this module (dist/ or src/ -> ../bpf/).
 */
export function defaultObjectPath(): string {
  return fileURLToPath(new URL('../bpf/connect_redirect.bpf.o', import.meta.url));
}
