import { fileURLToPath } from 'node:url';

/**
 * Path of the compiled BPF object shipped in this package (`bpf/sk_lookup_mesh.bpf.o`, copied
 * there by the package build), found relative to this module (dist/ or src/ -> ../bpf/).
 */
export function defaultObjectPath(): string {
  return fileURLToPath(new URL('../bpf/sk_lookup_mesh.bpf.o', import.meta.url));
}
