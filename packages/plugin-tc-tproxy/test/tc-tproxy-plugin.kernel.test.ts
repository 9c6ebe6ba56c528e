/**
 * The agent plugin as the agent drives it (factory.create with a pino logger, a unique pinRoot),
 * in a lab: client netns -> router netns over a veth, the plugin on the router's veth, the
 * ziti-like tproxy listener (IP_TRANSPARENT, 127.0.0.1 / [::1]) in the router. Real TCP and UDP
 * from the client: diverted with the original destination seen, drops, deny precedence, delete,
 * same-low-port ranges, pass-through, SSH and interface settings, describe / watch, a rejected
 * desired state, and a restart with keepPinned under a running connection.
 * The lab and the tproxy listener are built once per file; each test starts its own plugin in its
 * own pin root (fresh maps and counters) and closes it, so any test runs alone.
 */
import { randomBytes } from 'node:crypto';
import { existsSync, rmSync } from 'node:fs';
import { Writable } from 'node:stream';
import type { DataplanePlugin, DesiredState, Intent, MetricFamily } from '@bpfsteer/agent-kernel';
import { autoTcLinkType } from '@bpfsteer/core-bpf';
import { NetLab, type Listener, startZitiListener, type ZitiListener } from '@bpfsteer/netlab';
import { pino } from 'pino';
import { afterAll, afterEach, beforeAll, beforeEach, describe, expect, it } from 'vitest';
import { tcTproxyPlugin } from '../src/tc-tproxy-plugin.js';
import type { TcTproxyConfigInput } from '../src/tproxy-config.js';
import {
  TPROXY_EVENT_TOPIC,
  TPROXY_INTERFACE_KIND,
  TPROXY_RULE_KIND,
  tproxyEventSchema,
  tproxyInterfacesViewSchema,
  tproxyRulesViewSchema,
} from '@bpfsteer/contract-tproxy';
import { holdConnection, type HeldConnection } from './support/held-connection.js';

describe('tcTproxyPlugin in a client -> router lab', () => {
  const lab = NetLab.create('tctpp');
  const suffix = `${process.pid}-${randomBytes(3).toString('hex')}`;
  /** this test's pin root */
  let pinRoot = '';
  let tests = 0;
  const ns = { client: '', router: '' };
  const plugins: DataplanePlugin[] = [];
  const listeners: Listener[] = [];
  const held: HeldConnection[] = [];
  let ziti: ZitiListener;
  /** the plugins' log lines */
  const logLines: Array<Record<string, unknown>> = [];

  const create = (config: Partial<TcTproxyConfigInput> = {}) => {
    const parsed = tcTproxyPlugin.configSchema.parse({ interfaces: [{ name: 'eth-c', events: { diverts: true } }], netns: ns.router, ...config });
    const sink = new Writable({
      write(chunk, _enc, done) {
        for (const line of String(chunk).split('\n')) if (line.trim()) logLines.push(JSON.parse(line));
        done();
      },
    });
    const plugin = tcTproxyPlugin.create(parsed, { logger: pino({ level: 'debug' }, sink), pinRoot, signal: new AbortController().signal });
    plugins.push(plugin);
    return plugin;
  };
  const startUp = async (plugin: DataplanePlugin) => {
    await plugin.open();
    await plugin.load();
    await plugin.seed();
    await plugin.attach();
  };
  const rule = (fields: Record<string, unknown>): Intent => ({
    kind: TPROXY_RULE_KIND,
    source: String(fields.destination).includes(':') ? '::/0' : '0.0.0.0/0',
    protocol: 'tcp',
    action: 'divert',
    ...fields,
  });
  const desired = (rules: Intent[], interfaces: Intent[] = []): DesiredState =>
    new Map([
      [TPROXY_RULE_KIND, rules],
      [TPROXY_INTERFACE_KIND, interfaces],
    ]);
  const send = (proto: 'tcp' | 'udp', host: string, port: number, payload = `p-${randomBytes(2).toString('hex')}`, timeoutMs = 1500) =>
    lab.exchange(ns.client, proto, host, port, { payload, timeoutMs });
  /** the original destination the tproxy listener saw, or the error */
  const divertedTo = async (proto: 'tcp' | 'udp', host: string, port: number) => {
    const r = await send(proto, host, port);
    return r.reply?.match(/^orig=(\S+) peer=/)?.[1] ?? r.error ?? r.reply;
  };
  const lastApplyLog = () => [...logLines].reverse().find((l) => l.msg === 'tproxy rules applied');

  let base: Intent[];
  /** A started plugin of this test with the base rules (TCP 80 and UDP 53, IPv4 and IPv6) applied. */
  const withBase = async () => {
    const plugin = create();
    await startUp(plugin);
    expect(await plugin.apply(desired(base))).toEqual({ added: 4, updated: 0, removed: 0 });
    return plugin;
  };

  beforeAll(async () => {
    ns.client = lab.addNetns('c');
    ns.router = lab.addNetns('r');
    lab.addVeth(
      { netns: ns.client, ifname: 'eth0', addresses: ['10.0.0.2/24', 'fd00:1::2/64'] },
      { netns: ns.router, ifname: 'eth-c', addresses: ['10.0.0.1/24', 'fd00:1::1/64'] },
    );
    lab.ip(ns.client, 'route', 'add', 'default', 'via', '10.0.0.1');
    lab.ip(ns.client, '-6', 'route', 'add', 'default', 'via', 'fd00:1::1');
    // the intercepted ranges are local to the router (AnyIP), as a ziti router sets them up
    lab.ip(ns.router, 'route', 'add', 'local', '10.99.0.0/24', 'dev', 'lo');
    lab.ip(ns.router, '-6', 'route', 'add', 'local', 'fd00:99::/64', 'dev', 'lo');
    ziti = await startZitiListener(ns.router);
    base = [
      rule({ destination: '10.99.0.0/24', ports: { low: 80, high: 80 }, tproxyPort: ziti.tcp4, service: 'svc-web' }),
      rule({ destination: '10.99.0.0/24', protocol: 'udp', ports: { low: 53, high: 53 }, tproxyPort: ziti.udp4 }),
      rule({ destination: 'fd00:99::/64', ports: { low: 80, high: 80 }, tproxyPort: ziti.tcp6 }),
      rule({ destination: 'fd00:99::/64', protocol: 'udp', ports: { low: 53, high: 53 }, tproxyPort: ziti.udp6 }),
    ];
  });

  afterAll(async () => {
    try {
      ziti?.close();
    } finally {
      await lab.destroy();
    }
  });
  beforeEach(() => {
    pinRoot = `/sys/fs/bpf/bpfsteer-test-tctpp-${suffix}-${++tests}`;
    logLines.length = 0;
  });
  afterEach(async () => {
    try {
      for (const h of held.splice(0)) h.close();
      for (const l of listeners.splice(0)) l.close();
      // every plugin of the test (closing a closed one again is harmless)
      for (const p of plugins.splice(0)) await p.close({ keepPinned: false }).catch(() => undefined);
    } finally {
      rmSync(pinRoot, { recursive: true, force: true });
    }
  });

  it('drops everything before a rule, then diverts TCP and UDP (IPv4 and IPv6) with the original destination', async () => {
    const plugin = create();
    await startUp(plugin);
    expect(await divertedTo('tcp', '10.99.0.7', 80)).toBe('timeout');

    expect(await plugin.apply(desired(base))).toEqual({ added: 4, updated: 0, removed: 0 });
    expect(await divertedTo('tcp', '10.99.0.7', 80)).toBe('10.99.0.7:80');
    expect(await divertedTo('udp', '10.99.0.7', 53)).toBe('10.99.0.7:53');
    expect(await divertedTo('tcp', 'fd00:99::7', 80)).toBe('[fd00:99::7]:80');
    expect(await divertedTo('udp', 'fd00:99::7', 53)).toBe('[fd00:99::7]:53');
    // what no rule covers stays dropped
    expect(await divertedTo('tcp', '10.99.0.7', 81)).toBe('timeout');
    expect(await divertedTo('udp', 'fd00:99::7', 54)).toBe('timeout');
    // the same desired state again changes nothing
    expect(await plugin.apply(desired(base))).toEqual({ added: 0, updated: 0, removed: 0 });
    expect(lastApplyLog()?.entries).toEqual({ written: 0, deleted: 0 });
  });

  it('describes rules and interfaces with counters, and streams events to watchers (all as @bpfsteer/contract-tproxy defines them)', async () => {
    const plugin = await withBase();
    const events: Array<Record<string, unknown>> = [];
    const stop = plugin.watch!(TPROXY_EVENT_TOPIC, (e) => events.push(e as Record<string, unknown>));
    const tcp = await send('tcp', '10.99.0.8', 80);
    expect(tcp.reply).toMatch(/^orig=10\.99\.0\.8:80 /);
    expect((await send('tcp', '10.99.0.8', 82, 'x', 800)).error).toBe('timeout');
    await new Promise((r) => setTimeout(r, 200));
    stop();
    const peer = tcp.reply!.match(/peer=(\S+)/)![1];
    const divert = events.find((e) => e.kind === 'divert' && e.destination === '10.99.0.8:80');
    expect(divert).toMatchObject({ interface: 'eth-c', reason: 'rule', family: 4, protocol: 'tcp', source: peer, tproxyPort: ziti.tcp4 });
    expect(typeof divert!.ruleId).toBe('number');
    expect(Date.now() - Date.parse(String(divert!.time))).toBeLessThan(10_000);
    expect(events.find((e) => e.kind === 'drop' && e.destination === '10.99.0.8:82')).toMatchObject({ reason: 'no-rule', protocol: 'tcp' });
    expect(logLines.some((l) => l.level === 20 && (l.event as { destination?: string } | undefined)?.destination === '10.99.0.8:80')).toBe(true);
    // the real outputs satisfy the contract that source-ziti reads them with: a drift fails here
    for (const e of events) expect(tproxyEventSchema.safeParse(e).error).toBeUndefined();

    const rules = (await plugin.describe!(TPROXY_RULE_KIND)) as { capacity: number; rules: Array<{ intent: Intent; id: number; packets: number; bytes: number }> };
    expect(rules.capacity).toBe(131072);
    expect(rules.rules.map((r) => r.intent)).toEqual(expect.arrayContaining(base.map((b) => expect.objectContaining(b))));
    const web = rules.rules.find((r) => r.intent.service === 'svc-web')!;
    expect(web.id).toBe(divert!.ruleId);
    expect(web.packets).toBeGreaterThan(0);
    expect(web.bytes).toBeGreaterThan(0);
    expect(JSON.parse(JSON.stringify(rules))).toEqual(rules);
    expect(tproxyRulesViewSchema.safeParse(rules).error).toBeUndefined();
    // every listener of the base rules is there: no problem reported
    expect(rules.rules.filter((r) => 'problem' in r)).toEqual([]);

    const ifs = (await plugin.describe!(TPROXY_INTERFACE_KIND)) as { interfaces: Array<Record<string, unknown>> };
    expect(ifs.interfaces).toEqual([
      expect.objectContaining({ name: 'eth-c', ifindex: lab.ifIndex(ns.router, 'eth-c'), attachment: autoTcLinkType('ingress'), ssh: true, echo: false, ipv6: true, events: { drops: true, diverts: true } }),
    ]);
    const stats = ifs.interfaces[0];
    expect(stats.diverted).toBeGreaterThan(0);
    expect(stats.dropped).toBeGreaterThan(0);
    expect(stats.passed).toBeGreaterThan(0);
    expect(stats.eventsLost).toBe(0);
    expect(tproxyInterfacesViewSchema.safeParse(ifs).error).toBeUndefined();
  });

  it('serves Prometheus families whose interface and per-service counters grow with real traffic', async () => {
    const plugin = create({ metrics: { perService: true } });
    await startUp(plugin);
    await plugin.apply(desired(base));
    const sample = (families: readonly MetricFamily[], name: string, labels: Record<string, string>) =>
      families.find((f) => f.name === name)?.values.find((v) => Object.entries(labels).every(([k, x]) => v.labels?.[k] === x))?.value;
    const before = await plugin.metrics!();
    expect(before.map((f) => `${f.name} ${f.type}`)).toEqual([
      'bpfsteer_tproxy_interface_packets_total counter',
      'bpfsteer_tproxy_events_lost_total counter',
      'bpfsteer_tproxy_service_packets_total counter',
      'bpfsteer_tproxy_service_bytes_total counter',
    ]);
    // only the rule with a service has a service series
    expect(before.find((f) => f.name === 'bpfsteer_tproxy_service_packets_total')!.values.map((v) => v.labels)).toEqual([{ service: 'svc-web' }]);
    expect(await divertedTo('tcp', '10.99.0.7', 80)).toBe('10.99.0.7:80');
    expect(await divertedTo('udp', '10.99.0.7', 53)).toBe('10.99.0.7:53');
    expect((await send('tcp', '10.99.0.7', 81, 'x', 800)).error).toBe('timeout');
    const after = await plugin.metrics!();
    const grew = (name: string, labels: Record<string, string>) => [sample(before, name, labels)!, sample(after, name, labels)!];
    for (const verdict of ['passed', 'diverted', 'dropped']) {
      const [b, a] = grew('bpfsteer_tproxy_interface_packets_total', { interface: 'eth-c', verdict });
      expect(a, verdict).toBeGreaterThan(b);
    }
    const [pb, pa] = grew('bpfsteer_tproxy_service_packets_total', { service: 'svc-web' });
    expect(pa).toBeGreaterThan(pb);
    const [bb, ba] = grew('bpfsteer_tproxy_service_bytes_total', { service: 'svc-web' });
    expect(ba).toBeGreaterThan(bb);
    expect(sample(after, 'bpfsteer_tproxy_events_lost_total', { interface: 'eth-c' })).toBe(0);
  });

  it('describes a divert rule with no listener for its family as a problem (an IPv6 rule pointing at the IPv4-only listener)', async () => {
    const plugin = create();
    await startUp(plugin);
    const orphan = [
      rule({ destination: 'fd00:99::/64', ports: { low: 8443, high: 8443 }, tproxyPort: ziti.tcp4 }), // only IPv4 listens there
      rule({ destination: '10.99.0.0/24', protocol: 'udp', ports: { low: 5353, high: 5353 }, tproxyPort: 1 }), // nothing at all
      rule({ destination: '10.99.0.0/24', ports: { low: 80, high: 80 }, tproxyPort: ziti.tcp4 }),
    ];
    await plugin.apply(desired(orphan));
    const rules = (await plugin.describe!(TPROXY_RULE_KIND)) as { rules: Array<{ intent: Intent; problem?: string }> };
    const problems = Object.fromEntries(rules.rules.map((r) => [`${String(r.intent.destination)} ${String(r.intent.protocol)}`, r.problem]));
    expect(problems).toEqual({
      'fd00:99::/64 tcp': `no TCP listener at [::1]:${ziti.tcp4} (only an IPv4 socket listens on port ${ziti.tcp4}): its connections are dropped`,
      '10.99.0.0/24 udp': 'no UDP listener at 127.0.0.1:1: its connections are dropped',
      '10.99.0.0/24 tcp': undefined,
    });
    expect(tproxyRulesViewSchema.safeParse(rules).error).toBeUndefined();
    expect(await divertedTo('tcp', 'fd00:99::7', 8443)).toBe('timeout'); // what the problem says
  });

  it('lets a deny rule win (longer prefix, and a tie), and a delete restores the drop', async () => {
    const plugin = await withBase();
    const tie = [
      rule({ destination: '10.99.0.0/24', ports: { low: 1000, high: 1009 }, tproxyPort: ziti.tcp4 }),
      rule({ destination: '10.99.0.0/24', ports: { low: 1005, high: 1014 }, action: 'deny' }),
    ];
    const denyHost = rule({ destination: '10.99.0.7/32', ports: { low: 80, high: 80 }, action: 'deny' });
    expect(await plugin.apply(desired([...base, ...tie, denyHost]))).toEqual({ added: 3, updated: 0, removed: 0 });
    expect(await divertedTo('tcp', '10.99.0.7', 80)).toBe('timeout');
    expect(await divertedTo('tcp', '10.99.0.8', 80)).toBe('10.99.0.8:80');
    expect(await divertedTo('tcp', '10.99.0.8', 1000)).toBe('10.99.0.8:1000');
    expect(await divertedTo('tcp', '10.99.0.8', 1005)).toBe('timeout'); // equal width: deny wins
    expect(await divertedTo('tcp', '10.99.0.8', 1012)).toBe('timeout');

    // deleting the deny rule brings the divert back; deleting the divert rule brings the drop back
    expect(await plugin.apply(desired([...base, ...tie]))).toEqual({ added: 0, updated: 0, removed: 1 });
    expect(await divertedTo('tcp', '10.99.0.7', 80)).toBe('10.99.0.7:80');
    expect(await plugin.apply(desired(base.slice(1)))).toEqual({ added: 0, updated: 0, removed: 3 });
    expect(await divertedTo('tcp', '10.99.0.7', 80)).toBe('timeout');
    expect(await divertedTo('udp', '10.99.0.7', 53)).toBe('10.99.0.7:53');
  });

  it('keeps two ranges with the same low port apart', async () => {
    const plugin = await withBase();
    const narrow = rule({ destination: '10.99.0.0/24', ports: { low: 3000, high: 3000 }, tproxyPort: ziti.tcp4, service: 'narrow' });
    const wide = rule({ destination: '10.99.0.0/24', ports: { low: 3000, high: 3010 }, tproxyPort: ziti.tcp4, service: 'wide' });
    expect(await plugin.apply(desired([...base, narrow, wide]))).toEqual({ added: 2, updated: 0, removed: 0 });
    expect(await divertedTo('tcp', '10.99.0.9', 3000)).toBe('10.99.0.9:3000');
    expect(await divertedTo('tcp', '10.99.0.9', 3010)).toBe('10.99.0.9:3010');
    expect(await divertedTo('tcp', '10.99.0.9', 3011)).toBe('timeout');
    const { rules } = (await plugin.describe!(TPROXY_RULE_KIND)) as { rules: Array<{ intent: Intent; packets: number }> };
    expect(rules.find((r) => r.intent.service === 'narrow')!.packets).toBeGreaterThan(0);
    expect(rules.find((r) => r.intent.service === 'wide')!.packets).toBeGreaterThan(0);
    // removing the wide one leaves the narrow one
    expect(await plugin.apply(desired([...base, narrow]))).toEqual({ added: 0, updated: 0, removed: 1 });
    expect(await divertedTo('tcp', '10.99.0.9', 3000)).toBe('10.99.0.9:3000');
    expect(await divertedTo('tcp', '10.99.0.9', 3005)).toBe('timeout');
  });

  it('passes a pass-through rule to a local listener; SSH follows the interface settings and addresses', async () => {
    const plugin = await withBase();
    const local = await lab.listen(ns.router, 'tcp', '0.0.0.0', 0);
    const ssh = await lab.listen(ns.router, 'tcp', '::', 22); // IPv4 and IPv6
    listeners.push(local, ssh);
    expect((await send('tcp', '10.0.0.1', local.port, 'x', 800)).error).toBe('timeout');
    const pass = rule({ destination: '10.0.0.1/32', ports: { low: local.port, high: local.port }, action: 'pass' });
    expect(await plugin.apply(desired([...base, pass]))).toEqual({ added: 1, updated: 0, removed: 0 });
    expect((await send('tcp', '10.0.0.1', local.port, 'local')).reply).toBe('echo:local');

    expect((await send('tcp', '10.0.0.1', 22, 'ssh')).reply).toBe('echo:ssh');
    expect((await send('tcp', 'fd00:1::1', 22, 'ssh6')).reply).toBe('echo:ssh6');
    // an address added later is protected too (addresses are re-read at the apply after a change, and on a timer)
    lab.ip(ns.router, 'addr', 'add', '10.0.0.9/24', 'dev', 'eth-c');
    try {
      await plugin.apply(desired([...base, pass]));
      expect((await send('tcp', '10.0.0.9', 22, 'ssh-new')).reply).toBe('echo:ssh-new');
    } finally {
      lab.ip(ns.router, 'addr', 'del', '10.0.0.9/24', 'dev', 'eth-c');
    }
    // SSH off by a tproxy.interface intent, then on again
    const off = { kind: TPROXY_INTERFACE_KIND, name: 'eth-c', ssh: false };
    expect(await plugin.apply(desired([...base, pass], [off]))).toEqual({ added: 0, updated: 1, removed: 0 });
    expect((await send('tcp', '10.0.0.1', 22, 'x', 800)).error).toBe('timeout');
    const ifs = (await plugin.describe!(TPROXY_INTERFACE_KIND)) as { interfaces: Array<{ ssh: boolean }> };
    expect(ifs.interfaces[0].ssh).toBe(false);
    expect(await plugin.apply(desired([...base, pass]))).toEqual({ added: 0, updated: 1, removed: 0 });
    expect((await send('tcp', '10.0.0.1', 22, 'ssh-again')).reply).toBe('echo:ssh-again');
  });

  it('rejects an invalid desired state as a whole and changes nothing', async () => {
    const plugin = await withBase();
    const before = plugin.status();
    const extra = rule({ destination: '10.99.0.0/24', ports: { low: 4000, high: 4000 }, tproxyPort: ziti.tcp4 });
    const cases: Array<[DesiredState, RegExp]> = [
      [desired([...base, extra], [{ kind: TPROXY_INTERFACE_KIND, name: 'nope0', ssh: false }]), /interface nope0 is not attached/],
      [desired([...base, { ...extra, destination: '10.99.0.1/24' }]), /host bits/],
      [desired([...base, { ...extra, ports: { low: 5, high: 4 } }]), /low must not be greater/],
      [desired([...base, { ...extra, action: 'divert', tproxyPort: undefined }]), /needs tproxyPort/],
      [desired([...base, { ...extra, action: 'pass' }]), /tproxyPort is only allowed/],
    ];
    for (const [state, message] of cases) {
      const err = await plugin.apply(state).then(
        () => undefined,
        (e: unknown) => e as { code?: string; message: string },
      );
      expect(err?.message).toMatch(message);
      expect(err?.code).toBe('ERR_INTENT_REJECTED');
    }
    expect(plugin.status()).toEqual(before);
    expect(await divertedTo('tcp', '10.99.0.7', 4000)).toBe('timeout');
    expect(await divertedTo('tcp', '10.99.0.7', 80)).toBe('10.99.0.7:80');
  });

  it('keeps a rule naming an interface it does not attach (a router\'s -N): it applies on the attached ones only, and describe says why', async () => {
    const plugin = await withBase();
    const nowhere = rule({ destination: '10.99.0.0/24', ports: { low: 4001, high: 4001 }, tproxyPort: ziti.tcp4, interfaces: ['nope0'] });
    const partly = rule({ destination: '10.99.0.0/24', ports: { low: 4002, high: 4002 }, tproxyPort: ziti.tcp4, interfaces: ['eth-c', 'nope0'] });
    expect(await plugin.apply(desired([...base, nowhere, partly]))).toEqual({ added: 2, updated: 0, removed: 0 });
    expect(await divertedTo('tcp', '10.99.0.7', 4001)).toBe('timeout'); // applies nowhere (yet)
    expect(await divertedTo('tcp', '10.99.0.7', 4002)).toBe('10.99.0.7:4002'); // on eth-c
    const rules = (await plugin.describe!(TPROXY_RULE_KIND)) as { rules: Array<{ intent: Intent; problem?: string }> };
    const problem = (port: number) => rules.rules.find((r) => (r.intent.ports as { low: number }).low === port)?.problem;
    expect(problem(4001)).toBe('interface nope0 not attached by this plugin (attached: eth-c): the rule applies nowhere until it is attached');
    expect(problem(4002)).toBe('interface nope0 not attached by this plugin (attached: eth-c): the rule applies on eth-c only until it is attached');
    expect(problem(80)).toBeUndefined();
  });

  it('an optional interface absent at start is attached when it appears (and again when it is made anew); rules naming it apply there then', async () => {
    const plugin = create({ interfaces: [{ name: 'eth-c' }, { name: 'eth-late', optional: true }] });
    await startUp(plugin);
    const late = rule({ destination: '10.99.0.0/24', ports: { low: 4003, high: 4003 }, tproxyPort: ziti.tcp4, interfaces: ['eth-late'] });
    expect(await plugin.apply(desired([...base, late]))).toEqual({ added: 5, updated: 0, removed: 0 });
    expect(plugin.status().attachments.map((a) => a.target)).toEqual([`eth-c egress (netns ${ns.router})`, `eth-c ingress (netns ${ns.router})`]);
    expect(logLines.some((l) => l.msg === 'optional interface not present: the tproxy program is attached when it appears')).toBe(true);
    const problem = async () =>
      ((await plugin.describe!(TPROXY_RULE_KIND)) as { rules: Array<{ intent: Intent; problem?: string }> }).rules.find(
        (r) => (r.intent.ports as { low: number }).low === 4003,
      )?.problem;
    expect(await problem()).toBe('interface eth-late not present (optional: attached when it appears): the rule applies nowhere until it appears');

    // a second client behind an interface made now
    const other = lab.addNetns('c2');
    const makeLink = () => {
      lab.addVeth({ netns: other, ifname: 'eth0', addresses: ['10.0.2.2/24'] }, { netns: ns.router, ifname: 'eth-late', addresses: ['10.0.2.1/24'] });
      lab.ip(other, 'route', 'add', 'default', 'via', '10.0.2.1');
    };
    const fromOther = async (port: number, timeoutMs = 1500) => {
      const r = await lab.exchange(other, 'tcp', '10.99.0.7', port, { payload: 'late', timeoutMs });
      return r.reply?.match(/^orig=(\S+) peer=/)?.[1] ?? r.error ?? r.reply;
    };
    const attachedThere = async () => {
      for (let i = 0; i < 50 && !plugin.status().attachments.some((a) => a.target.startsWith('eth-late ')); i++) await new Promise((r) => setTimeout(r, 100));
      return plugin.status().attachments.filter((a) => a.target.startsWith('eth-late ')).length;
    };
    for (const round of ['appears', 'made anew']) {
      makeLink();
      expect(await attachedThere(), round).toBe(2);
      expect(await fromOther(4003), round).toBe('10.99.0.7:4003'); // the rule naming it
      expect(await fromOther(80), round).toBe('10.99.0.7:80'); // a bare rule applies there too
      expect(await fromOther(81, 700), round).toBe('timeout'); // the firewall runs on it
      expect(await divertedTo('tcp', '10.99.0.7', 4003), round).toBe('timeout'); // not on eth-c
      expect(await problem(), round).toBeUndefined();
      expect(logLines.some((l) => l.msg === 'optional interface present: tproxy program attached, rules applied there' && l.interface === 'eth-late')).toBe(true);
      // it goes: the links go with it, their pins too, the rest stays in force
      lab.ip(ns.router, 'link', 'del', 'eth-late');
      for (let i = 0; i < 50 && plugin.status().attachments.length > 2; i++) await new Promise((r) => setTimeout(r, 100));
      expect(plugin.status().attachments.map((a) => a.target), round).toEqual([`eth-c egress (netns ${ns.router})`, `eth-c ingress (netns ${ns.router})`]);
      expect(existsSync(`${pinRoot}/links/ingress-eth-late`), round).toBe(false);
      expect(await divertedTo('tcp', '10.99.0.7', 80), round).toBe('10.99.0.7:80');
      expect(await problem(), round).toMatch(/not present/);
    }
  });

  it('restarts with keepPinned without a gap: a running connection goes on, the new instance changes nothing', async () => {
    const first = await withBase();
    const state = desired(base);
    const before = holdConnection(lab, ns.client, '10.99.0.7', 80);
    held.push(before);
    await before.connected;
    await first.close({ keepPinned: true });
    // during the restart: the pinned programs and maps stay in force
    const during = holdConnection(lab, ns.client, '10.99.0.7', 80);
    held.push(during);
    await during.connected;

    const second = create();
    await second.open();
    await second.load();
    await second.seed();
    expect((second.status().details as { rules: number }).rules).toBe(4); // adopted before attach
    await second.attach();
    expect(await before.send('before')).toMatch(/^orig=10\.99\.0\.7:80 peer=10\.0\.0\.2:\d+ data=before\n$/);
    expect(await second.apply(state)).toEqual({ added: 0, updated: 0, removed: 0 });
    expect(lastApplyLog()?.entries).toEqual({ written: 0, deleted: 0 });
    expect(await during.send('during')).toMatch(/^orig=10\.99\.0\.7:80 .* data=during\n$/);
    expect(await divertedTo('tcp', 'fd00:99::7', 80)).toBe('[fd00:99::7]:80');
    expect(await divertedTo('udp', '10.99.0.7', 53)).toBe('10.99.0.7:53');
    const rules = (await second.describe!(TPROXY_RULE_KIND)) as { rules: unknown[] };
    expect(rules.rules).toHaveLength(4);

    // a plain stop detaches and removes every pin
    await second.close({ keepPinned: false });
    expect(existsSync(pinRoot)).toBe(false);
    expect((await send('tcp', '10.99.0.7', 80)).error).toBe('ECONNREFUSED'); // no firewall, no divert: nobody listens there
  });
});
