// The tproxy benches' handle on @bpfsteer/plugin-tc-tproxy's TproxyDataplane (startTproxyDataplane): started on lab
// interfaces with its pins under a unique bpffs directory, fed complete rule sets (as the plugin's
// apply gets them), and the attached tctp_ingress program for BPF_PROG_TEST_RUN.
import { rmSync } from 'node:fs';
import { Program, tcxPrograms } from '@bpfsteer/core-bpf';
import { startTproxyDataplane as startDataplane } from '@bpfsteer/plugin-tc-tproxy';
import { ruleIntent } from './tproxy-rules.mjs';

/**
 * open + load + seed + attach on `interfaces` (names in `netns`); `events: false` turns the
 * interfaces' drop and divert events off. close() detaches, removes the pins and `pinRoot`.
 */
export function startTproxyDataplane({ netns, interfaces, pinRoot, events = true, maxRules }) {
  const dp = startDataplane({
    netns,
    pinRoot,
    ...(maxRules !== undefined && { maxRules }),
    interfaces: interfaces.map((name) => ({ name, ...(events ? {} : { events: { drops: false, diverts: false } }) })),
  });
  let closed = false;
  return {
    dataplane: dp,
    /** converges the maps to exactly these tproxy.rule intents; returns the plugin's apply result */
    setRules: (rules) => dp.apply({ rules }),
    /** the tctp_ingress program attached to `ifname` (the dataplane's own, sharing its maps) */
    ingressProgram(ifname = interfaces[0]) {
      const attached = tcxPrograms({ ifname, direction: 'ingress', netns }).find((p) => p.name === 'tctp_ingress');
      if (!attached) throw new Error(`no tctp_ingress on the tcx ingress hook of ${ifname}`);
      return Program.fromId(attached.id);
    },
    /** hit counters (packets) of the rules that name a service, by service */
    serviceHits() {
      return new Map(dp.describeRules().rules.filter((r) => r.intent.service !== undefined).map((r) => [r.intent.service, r.packets]));
    },
    close() {
      if (closed) return;
      closed = true;
      try {
        dp.close({ keepPinned: false });
      } finally {
        if (pinRoot) rmSync(pinRoot, { recursive: true, force: true });
      }
    },
  };
}

/** A divert rule: TCP to `destination` port `port` -> the 127.0.0.1 listener on `tproxyPort`. */
export function tproxyRule(destination, port, tproxyPort) {
  return ruleIntent({ destination, protocol: 'tcp', low: port, tproxyPort });
}
