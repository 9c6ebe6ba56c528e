/**
 * Program types by name (the uapi `enum bpf_prog_type` numbers, spelled as libbpf spells them).
 * Checked against libbpf_bpf_prog_type_str by a kernel test.
 */
import { kernelEnum } from './kernel-enum.js';

const names = [
  'unspec', 'socket_filter', 'kprobe', 'sched_cls', 'sched_act', 'tracepoint', 'xdp', 'perf_event',
  'cgroup_skb', 'cgroup_sock', 'lwt_in', 'lwt_out', 'lwt_xmit', 'sock_ops', 'sk_skb', 'cgroup_device',
  'sk_msg', 'raw_tracepoint', 'cgroup_sock_addr', 'lwt_seg6local', 'lirc_mode2', 'sk_reuseport',
  'flow_dissector', 'cgroup_sysctl', 'raw_tracepoint_writable', 'cgroup_sockopt', 'tracing',
  'struct_ops', 'ext', 'lsm', 'sk_lookup', 'syscall', 'netfilter',
] as const;

export type KnownProgramType = (typeof names)[number];
/** A program type name; kernels newer than this table report `unknown_<number>`. */
export type ProgramType = KnownProgramType | `unknown_${number}`;

const table = kernelEnum('program type', names);

/** Numbers of every known program type. */
export const programTypeNumbers: ReadonlyMap<KnownProgramType, number> = table.numbers;

export function programTypeName(kernelType: number): ProgramType {
  return table.name(kernelType);
}

/** The kernel number of a program type name (InvalidArgumentError for unknown names). */
export function programTypeNumber(type: string): number {
  return table.number(type);
}
