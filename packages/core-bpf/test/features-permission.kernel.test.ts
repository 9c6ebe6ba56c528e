// Without privileges, a feature probe names the missing capability, not the kernel: the same probes
// as root (this process) and in a child without any capability (setpriv: user nobody, empty
// capability sets), on the same kernel. And with some of them (root's uid, a bounding set of
// CAP_BPF and CAP_NET_ADMIN, with or without CAP_PERFMON): what loads, and what the refusals say.
import { spawnSync } from 'node:child_process';
import { describe, expect, it } from 'vitest';
import { probeFeature } from '../src/features.js';
import { missingBpfPrivilege } from '../src/capabilities.js';

const hooks = new URL('./support/ts-hooks.mjs', import.meta.url).pathname;
const script = new URL('./support/children/probe-features.ts', import.meta.url).pathname;
const loader = new URL('./support/children/load-object.ts', import.meta.url).pathname;
const FEATURES = ['tc', 'netlink-tc', 'cgroup_skb', 'lpm_trie', 'ringbuf'] as const;

function unprivileged(features: readonly string[]): Record<string, { probe: { supported: boolean; reason?: string; detail?: string }; error?: { name: string; code: string; message: string } }> {
  const r = spawnSync(
    'setpriv',
    ['--reuid=65534', '--regid=65534', '--clear-groups', '--inh-caps=-all', '--bounding-set=-all', '--', process.execPath, '--no-warnings', '--import', hooks, script, ...features],
    { encoding: 'utf8' },
  );
  if (r.status !== 0) throw new Error(`the unprivileged child failed (${r.status ?? r.signal}): ${r.stderr}`);
  return JSON.parse(r.stdout);
}

describe('feature probes without privileges', () => {
  it('as root every probed feature is there, and nothing is missing', () => {
    expect(missingBpfPrivilege()).toBeUndefined();
    for (const f of FEATURES) expect(probeFeature(f)).toMatchObject({ supported: true });
  });

  it('without capabilities each names the missing privilege, and requireFeature throws NotPermittedError', () => {
    const got = unprivileged(FEATURES);
    for (const f of FEATURES) {
      expect(got[f].probe, f).toMatchObject({ supported: false, reason: 'permission' });
      expect(got[f].probe.detail, f).toMatch(/CAP_BPF/);
      expect(got[f].probe.detail, f).not.toMatch(/the kernel rejects/);
      expect(got[f].error, f).toMatchObject({ name: 'NotPermittedError', code: 'ERR_BPF_NOT_PERMITTED' });
      expect(got[f].error!.message, f).toMatch(/not permitted to this process: .*CAP_BPF/);
    }
  });
});

/** What the load-object child reports for `object` with only the capabilities `caps` (root's uid). */
function loadWith(caps: string[], object: string): { loaded?: true; read?: string; error?: { name: string; code: string; message: string; missingPrivilege?: string } } {
  const r = spawnSync('setpriv', [`--bounding-set=-all,${caps.map((c) => `+${c}`).join(',')}`, '--', process.execPath, '--no-warnings', '--import', hooks, loader, object], {
    encoding: 'utf8',
  });
  if (r.status !== 0) throw new Error(`the child failed (${r.status ?? r.signal}): ${r.stderr}`);
  return JSON.parse(r.stdout);
}

describe('with CAP_BPF and CAP_NET_ADMIN but not CAP_SYS_ADMIN', () => {
  it('without CAP_PERFMON the verifier holds a program to its unprivileged rules, and the error says so', () => {
    const got = loadWith(['bpf', 'net_admin'], 'tc_nexthop');
    expect(got.error).toMatchObject({ name: 'VerifierError', code: 'ERR_BPF_VERIFIER' });
    expect(got.error!.missingPrivilege).toMatch(/neither CAP_PERFMON nor CAP_SYS_ADMIN/);
    expect(got.error!.message).toMatch(/verifier rejected it \(EACCES\) under its rules for unprivileged programs, as the process has neither CAP_PERFMON/);
  });

  it('with CAP_PERFMON the program loads, and a map is wrapped without reading its BTF back (that needs CAP_SYS_ADMIN)', () => {
    expect(loadWith(['bpf', 'net_admin', 'perfmon'], 'tc_nexthop')).toEqual({ loaded: true });
    expect(loadWith(['bpf', 'net_admin', 'perfmon'], 'bench_maps')).toEqual({ loaded: true, read: '42' });
  });
});
