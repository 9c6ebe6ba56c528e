/**
 * The core_maps and core_bad fixtures (bpf/test/core_maps.bpf.c, core_bad.bpf.c) and the codecs of
 * bpf/test/core_maps.h, for the object/map kernel tests. The codecs are checked against the object's
 * BTF whenever they wrap a map, so a drift in the header fails the tests.
 */
import { existsSync, mkdirSync, rmSync } from 'node:fs';
import { fileURLToPath } from 'node:url';
import { ipv4Frame as buildIpv4Frame } from '@bpfsteer/netlab';
import { parseIp } from '@bpfsteer/ip';
import { codecs as c } from '../../src/codecs.js';
import { unique } from './lab.js';

const DIR = fileURLToPath(new URL('../../../../bpf/build/test/', import.meta.url));

export function fixturePath(name: 'core_maps' | 'core_bad'): string {
  const path = `${DIR}${name}.bpf.o`;
  if (!existsSync(path)) throw new Error(`fixture ${path} missing: run make -C bpf`);
  return path;
}

/** struct core_route */
export const Route = c.struct({
  action: c.u32,
  gateway: c.ipv4,
  port: c.be16,
  flags: c.u8,
  pad: c.pad(1),
  pad2: c.pad(4),
  cookie: c.u64,
});

/** struct core_flow_key */
export const FlowKey = c.struct({
  saddr: c.ipv4,
  daddr: c.ipv4,
  sport: c.be16,
  dport: c.be16,
  proto: c.u8,
  pad: c.pad(3),
});

export const TC_ACT_OK = 0;
export const TC_ACT_SHOT = 2;

/** An Ethernet + IPv4 + UDP frame to `dst` (dotted quads), for BPF_PROG_TEST_RUN. */
export function ipv4Frame(dst: string, src = '192.0.2.1', sport = 1000, dport = 2000): Uint8Array {
  return buildIpv4Frame({ src: parseIp(src).bytes, dst: parseIp(dst).bytes, sport, dport });
}

/** A fresh, uniquely named directory on bpffs; remove it with `removePinDir`. */
export function makePinDir(prefix = 'cbpfa'): string {
  const dir = `/sys/fs/bpf/${unique(prefix)}`;
  mkdirSync(dir);
  return dir;
}

export function removePinDir(dir: string | undefined): void {
  if (dir && dir.startsWith('/sys/fs/bpf/cbpfa')) rmSync(dir, { recursive: true, force: true });
}
