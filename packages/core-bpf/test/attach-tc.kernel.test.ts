// tc attachments (tcx links and netlink clsact filters) on a veth inside fresh netns, with real
// ping and TCP traffic counted by the fixture programs. On a kernel without tcx (< 6.6, as in the
// kernel matrix's Debian 6.1) the tcx cases are replaced by its refusal, and auto mode is netlink.
import { existsSync } from 'node:fs';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { attachTc } from '../src/attach-tc.js';
import { attachCgroup } from '../src/attach-cgroup.js';
import { openPinnedLink } from '../src/open-pinned-link.js';
import { AlreadyAttachedError, InvalidArgumentError, NotFoundError, NotSupportedError, PinIncompatibleError } from '../src/errors.js';
import { probeFeature } from '../src/features.js';
import { NETLINK_TC_PRIORITY } from '../src/netlink-tc-link.js';
import { CL, counter, loadCoreLinks, type Fixture } from './support/load-fixture.js';
import { exited, Lab, openFdCount, ping, run, tcpEcho, tsChild, waitForLine } from './support/lab.js';
import { hookPrograms, netlinkPrograms, tcxPrograms } from './support/hooks.js';

const lab = new Lab();
let fx: Fixture;
let nsA: string; // holds a0 (10.77.0.1), where the programs attach
let nsB: string; // holds b0 (10.77.0.2), the traffic source

beforeAll(() => {
  nsA = lab.addNetns('cbtA');
  nsB = lab.addNetns('cbtB');
  lab.veth(nsA, 'a0', '10.77.0.1/24', nsB, 'b0', '10.77.0.2/24');
  fx = loadCoreLinks();
});

afterAll(() => {
  fx?.close();
  lab.cleanup();
});

const hasTcx = probeFeature('tcx').supported;
const modes = hasTcx ? (['tcx', 'netlink'] as const) : (['netlink'] as const);
const kinds = modes.map((mode) => ({ mode, prefix: mode === 'tcx' ? 'tcx' : 'netlink-tc' }));

if (!hasTcx) {
  describe('attachTc mode tcx on a kernel without tcx', () => {
    it('is refused, naming the kernel that has it, and changes nothing', () => {
      expect(() => attachTc(fx.program('tc_count_ingress'), { ifname: 'a0', direction: 'ingress', netns: nsA, mode: 'tcx' })).toThrow(NotSupportedError);
      expect(() => attachTc(fx.program('tc_count_ingress'), { ifname: 'a0', direction: 'ingress', netns: nsA, mode: 'tcx' })).toThrow(/tcx .*6\.6/);
      expect(hookPrograms(nsA, 'a0', 'ingress')).toEqual([]);
    });
  });
}

describe.each(kinds)('attachTc mode $mode', ({ mode, prefix }) => {
  const opts = (direction: 'ingress' | 'egress', pinPath?: string) => ({ ifname: 'a0', direction, netns: nsA, mode, pinPath });

  it('counts real ping and TCP traffic on ingress and egress, and detaches on close', async () => {
    const in0 = counter(fx, CL.TC_INGRESS);
    const eg0 = counter(fx, CL.TC_EGRESS);
    const ing = attachTc(fx.program('tc_count_ingress'), opts('ingress'));
    const eg = attachTc(fx.program('tc_count_egress'), opts('egress'));
    try {
      expect(ing.type).toBe(`${prefix}-ingress`);
      expect(eg.type).toBe(`${prefix}-egress`);
      expect(ing.target).toMatch(new RegExp(`^a0 \\(ifindex \\d+\\) in netns ${nsA}$`));
      expect(ing.pinnedPath).toBeUndefined();
      expect(hookPrograms(nsA, 'a0', 'ingress')).toEqual(['tc_count_ingres']);
      expect(hookPrograms(nsA, 'a0', 'egress')).toEqual(['tc_count_egress']);

      expect(ping(nsB, '10.77.0.1', 3)).toBe(3);
      expect(await tcpEcho(nsA, nsB, '10.77.0.1', 8080, 'hello tc')).toBe('hello tc');
      // 3 echo requests + a TCP exchange (>= 5 segments) each way
      expect(counter(fx, CL.TC_INGRESS) - in0).toBeGreaterThanOrEqual(8n);
      expect(counter(fx, CL.TC_EGRESS) - eg0).toBeGreaterThanOrEqual(8n);
    } finally {
      ing.close();
      eg.close();
    }
    expect(hookPrograms(nsA, 'a0', 'ingress')).toEqual([]);
    expect(hookPrograms(nsA, 'a0', 'egress')).toEqual([]);
    const in1 = counter(fx, CL.TC_INGRESS);
    expect(ping(nsB, '10.77.0.1', 2)).toBe(2);
    expect(counter(fx, CL.TC_INGRESS)).toBe(in1);
  });

  it('never stacks the same program twice', () => {
    const prog = fx.program('tc_count_ingress');
    const first = attachTc(prog, opts('ingress'));
    try {
      if (mode === 'tcx') {
        // the tcx link is owned by `first`: a second attach is refused, not stacked
        expect(() => attachTc(prog, opts('ingress'))).toThrow(AlreadyAttachedError);
      } else {
        // same handle + priority: the filter is replaced in place
        const second = attachTc(prog, opts('ingress'));
        expect(second.type).toBe('netlink-tc-ingress');
      }
      expect(hookPrograms(nsA, 'a0', 'ingress')).toEqual(['tc_count_ingres']);
      // switching mechanism does not stack either (where there is a tcx to switch to)
      const other = mode === 'tcx' ? 'netlink' : 'tcx';
      expect(() => attachTc(prog, { ...opts('ingress'), mode: other })).toThrow(hasTcx ? AlreadyAttachedError : NotSupportedError);
      expect(hookPrograms(nsA, 'a0', 'ingress')).toEqual(['tc_count_ingres']);
    } finally {
      first.detach();
    }
    expect(hookPrograms(nsA, 'a0', 'ingress')).toEqual([]);
  });

  it('re-attaching with the same pinPath re-adopts instead of stacking', () => {
    const pin = lab.pinPath();
    const prog = fx.program('tc_count_ingress');
    const a = attachTc(prog, opts('ingress', pin));
    expect(a.pinnedPath).toBe(pin);
    const b = attachTc(prog, opts('ingress', pin));
    const c = attachTc(fx.program('tc_count_alt'), opts('ingress', pin));
    try {
      expect(b.pinnedPath).toBe(pin);
      expect(hookPrograms(nsA, 'a0', 'ingress')).toEqual(['tc_count_alt']);
    } finally {
      a.close();
      b.close();
      c.detach();
    }
    expect(existsSync(pin)).toBe(false);
    expect(hookPrograms(nsA, 'a0', 'ingress')).toEqual([]);
  });

  it('update switches the program atomically', () => {
    const link = attachTc(fx.program('tc_count_ingress'), opts('ingress'));
    try {
      const in0 = counter(fx, CL.TC_INGRESS);
      expect(ping(nsB, '10.77.0.1', 2)).toBe(2);
      const in1 = counter(fx, CL.TC_INGRESS);
      expect(in1 - in0).toBeGreaterThanOrEqual(2n);

      const alt0 = counter(fx, CL.TC_ALT);
      link.update(fx.program('tc_count_alt'));
      expect(hookPrograms(nsA, 'a0', 'ingress')).toEqual(['tc_count_alt']);
      expect(ping(nsB, '10.77.0.1', 2)).toBe(2);
      expect(counter(fx, CL.TC_ALT) - alt0).toBeGreaterThanOrEqual(2n);
      expect(counter(fx, CL.TC_INGRESS)).toBe(in1);

      expect(() => link.update(fx.program('cg_skb_egress'))).toThrow(/sched_cls/);
    } finally {
      link.close();
    }
  });

  it('a pinned attachment outlives close and is re-adopted by a second process', async () => {
    const pin = lab.pinPath();
    const link = attachTc(fx.program('tc_count_ingress'), opts('ingress', pin));
    link.close();
    expect(existsSync(pin)).toBe(true);
    const in0 = counter(fx, CL.TC_INGRESS);
    expect(ping(nsB, '10.77.0.1', 2)).toBe(2);
    expect(counter(fx, CL.TC_INGRESS) - in0).toBeGreaterThanOrEqual(2n);

    const child = tsChild('readopt-tc.ts', [pin, nsA, mode]);
    const line = await waitForLine(child, /^\{/, 20000);
    expect(await exited(child)).toBe(0);
    expect(JSON.parse(line)).toMatchObject({ type: `${prefix}-ingress`, pinnedPath: pin });

    // the child switched the pinned attachment to its own tc_count_alt; nothing stacked
    expect(hookPrograms(nsA, 'a0', 'ingress')).toEqual(['tc_count_alt']);
    const in1 = counter(fx, CL.TC_INGRESS);
    expect(ping(nsB, '10.77.0.1', 2)).toBe(2);
    expect(counter(fx, CL.TC_INGRESS)).toBe(in1);

    const reopened = openPinnedLink(pin, { netns: nsA });
    expect(reopened.type).toBe(`${prefix}-ingress`);
    expect(reopened.target).toMatch(/^a0 \(ifindex \d+\)/);
    expect(reopened.pinnedPath).toBe(pin);
    reopened.detach();
    expect(existsSync(pin)).toBe(false);
    expect(hookPrograms(nsA, 'a0', 'ingress')).toEqual([]);
  });

  it('pin after attach, unpin, then close detaches', () => {
    const pin = lab.pinPath();
    const link = attachTc(fx.program('tc_count_egress'), opts('egress'));
    link.pin(pin);
    expect(link.pinnedPath).toBe(pin);
    expect(existsSync(pin)).toBe(true);
    link.pin(pin); // same path: no-op
    expect(() => link.pin(lab.pinPath())).toThrow(InvalidArgumentError);
    link.unpin();
    expect(existsSync(pin)).toBe(false);
    expect(hookPrograms(nsA, 'a0', 'egress')).toEqual(['tc_count_egress']);
    link.close();
    expect(hookPrograms(nsA, 'a0', 'egress')).toEqual([]);
    link.close(); // idempotent
    expect(() => link.update(fx.program('tc_count_egress'))).toThrow(/closed/);
  });
});

describe('attachTc details', () => {
  it('netlink filters use the fixed priority and show up in tc', () => {
    const link = attachTc(fx.program('tc_count_ingress'), { ifname: 'a0', direction: 'ingress', netns: nsA, mode: 'netlink' });
    try {
      const out = run('ip', ['netns', 'exec', nsA, 'tc', 'filter', 'show', 'dev', 'a0', 'ingress']);
      expect(out).toContain(`pref ${NETLINK_TC_PRIORITY}`);
      expect(out).toContain('direct-action');
      expect(netlinkPrograms(nsA, 'a0', 'ingress')).toEqual(['tc_count_ingres']);
      expect(tcxPrograms(nsA, 'a0', 'ingress')).toEqual([]);
    } finally {
      link.detach();
    }
  });

  it('auto mode picks tcx where the kernel has it (netlink where not), and follows an existing pin', () => {
    const auto = attachTc(fx.program('tc_count_ingress'), { ifname: 'a0', direction: 'ingress', netns: nsA });
    expect(auto.type).toBe(hasTcx ? 'tcx-ingress' : 'netlink-tc-ingress');
    auto.close();
    const pin = lab.pinPath();
    const nl = attachTc(fx.program('tc_count_ingress'), { ifname: 'a0', direction: 'ingress', netns: nsA, mode: 'netlink', pinPath: pin });
    nl.close();
    const again = attachTc(fx.program('tc_count_ingress'), { ifname: 'a0', direction: 'ingress', netns: nsA, pinPath: pin });
    try {
      expect(again.type).toBe('netlink-tc-ingress');
      expect(hookPrograms(nsA, 'a0', 'ingress')).toEqual(['tc_count_ingres']);
      // an explicit mode that contradicts the pin is refused and changes nothing
      expect(() =>
        attachTc(fx.program('tc_count_ingress'), { ifname: 'a0', direction: 'ingress', netns: nsA, mode: 'tcx', pinPath: pin }),
      ).toThrow(PinIncompatibleError);
      expect(hookPrograms(nsA, 'a0', 'ingress')).toEqual(['tc_count_ingres']);
    } finally {
      again.detach();
    }
  });

  // pinned tcx links exist only where the kernel has tcx
  if (hasTcx) {
    it('a pinned tcx link on another interface is refused, not hijacked', () => {
      lab.veth(nsA, 'a1', '10.78.0.1/24', nsB, 'b1', '10.78.0.2/24');
      const pin = lab.pinPath();
      const link = attachTc(fx.program('tc_count_ingress'), { ifname: 'a0', direction: 'ingress', netns: nsA, mode: 'tcx', pinPath: pin });
      try {
        expect(() =>
          attachTc(fx.program('tc_count_ingress'), { ifname: 'a1', direction: 'ingress', netns: nsA, mode: 'tcx', pinPath: pin }),
        ).toThrow(PinIncompatibleError);
        expect(() =>
          attachTc(fx.program('tc_count_egress'), { ifname: 'a0', direction: 'egress', netns: nsA, mode: 'tcx', pinPath: pin }),
        ).toThrow(/expected tcx-egress/);
        expect(hookPrograms(nsA, 'a1', 'ingress')).toEqual([]);
      } finally {
        link.detach();
      }
    });

    it('a pinned tcx link whose interface is gone is replaced', () => {
      lab.veth(nsA, 'a2', '10.79.0.1/24', nsB, 'b2', '10.79.0.2/24');
      const pin = lab.pinPath();
      attachTc(fx.program('tc_count_ingress'), { ifname: 'a2', direction: 'ingress', netns: nsA, mode: 'tcx', pinPath: pin }).close();
      run('ip', ['-n', nsA, 'link', 'del', 'a2']);
      lab.veth(nsA, 'a2', '10.79.0.1/24', nsB, 'b2', '10.79.0.2/24');
      const link = attachTc(fx.program('tc_count_ingress'), { ifname: 'a2', direction: 'ingress', netns: nsA, mode: 'tcx', pinPath: pin });
      try {
        expect(tcxPrograms(nsA, 'a2', 'ingress')).toEqual(['tc_count_ingres']);
      } finally {
        link.detach();
      }
    });
  }

  it('bad input gets a clear error and changes nothing', () => {
    const prog = fx.program('tc_count_ingress');
    expect(() => attachTc(prog, { ifname: 'nope0', direction: 'ingress', netns: nsA })).toThrow(NotFoundError);
    expect(() => attachTc(prog, { ifname: 'a0', direction: 'sideways' as 'ingress', netns: nsA })).toThrow(/expected 'ingress' or 'egress'/);
    expect(() => attachTc(prog, { ifname: 'a0', direction: 'ingress', netns: nsA, mode: 'xdp' as 'tcx' })).toThrow(/expected 'auto', 'tcx' or 'netlink'/);
    expect(() => attachTc(prog, { ifname: 'a/0', direction: 'ingress' })).toThrow(InvalidArgumentError);
    expect(() => attachTc(prog, { ifname: 'a0', direction: 'ingress', netns: 'no-such-netns-xyz' })).toThrow(NotFoundError);
    expect(() => attachTc(prog, { ifname: 'a0', direction: 'ingress', netns: nsA, pinPath: '/tmp/x' })).toThrow(/not on a bpf filesystem/);
    expect(() => attachTc(fx.program('cg_skb_egress'), { ifname: 'a0', direction: 'ingress', netns: nsA })).toThrow(/cgroup_skb.*sched_cls/);
    expect(() => attachTc({ fd: 0, name: 'stdin' }, { ifname: 'a0', direction: 'ingress', netns: nsA })).toThrow(/not an open BPF program/);
    expect(hookPrograms(nsA, 'a0', 'ingress')).toEqual([]);
    expect(() => attachCgroup(prog, { cgroup: 'x', attachType: 'egress' as 'sockops' })).toThrow(/expected one of/);
  });

  it('leaks no fds over attach/pin/update/reopen/detach cycles', () => {
    const cycle = () => {
      for (const mode of modes) {
        const pin = lab.pinPath();
        const link = attachTc(fx.program('tc_count_ingress'), { ifname: 'a0', direction: 'ingress', netns: nsA, mode, pinPath: pin });
        link.update(fx.program('tc_count_alt'));
        link.close();
        const again = attachTc(fx.program('tc_count_ingress'), { ifname: 'a0', direction: 'ingress', netns: nsA, mode, pinPath: pin });
        again.close();
        openPinnedLink(pin, { netns: nsA }).detach();
        try {
          attachTc(fx.program('tc_count_ingress'), { ifname: 'nope0', direction: 'ingress', netns: nsA, mode });
        } catch {
          // expected
        }
      }
    };
    cycle(); // warm up lazily opened libraries
    const before = openFdCount();
    for (let i = 0; i < 3; i++) cycle();
    expect(openFdCount()).toBe(before);
    expect(hookPrograms(nsA, 'a0', 'ingress')).toEqual([]);
  });
});
