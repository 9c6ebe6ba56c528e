/**
 * `bpfsteer demo tproxy`: an OpenZiti edge router's tproxy interception (seed 003). A client sends
 * TCP and UDP to a service prefix the router makes local, where nothing listens:
 *   1. without the agent, TCP is refused and UDP goes unanswered;
 *   2. with the agent (tc-tproxy on the router's interface, the ziti source's API) and the rules the
 *      router inserts through `bpfsteer-diverter` (the native client a router in `tproxy:` mode
 *      runs, one process per call, from the router's netns), both flows land on the router's tproxy
 *      listener (127.0.0.1, IP_TRANSPARENT), which sees the original destination;
 *   3. once the agent stops, the firewall is detached and the flows fail again.
 */
import { existsSync, mkdtempSync, rmSync } from 'node:fs';
import { createRequire } from 'node:module';
import { arch, tmpdir } from 'node:os';
import { dirname, join } from 'node:path';
import { buildZitiRouterLab, NetLab, startRouterStandIn, startZitiListener, type ZitiRouterLab } from '@bpfsteer/netlab';
import { configText, demoPinRoot, startDemoAgent, type DemoScenario } from './scenario.js';

/** The native `bpfsteer-diverter` inside the installed @bpfsteer/source-ziti. */
function nativeDiverter(): string {
  const pkg = createRequire(import.meta.url).resolve('@bpfsteer/source-ziti/package.json');
  const path = join(dirname(pkg), 'dist', 'native', `linux-${arch()}`, 'bpfsteer-diverter');
  if (!existsSync(path)) throw new Error(`no native bpfsteer-diverter for linux-${arch()} at ${path} (build @bpfsteer/source-ziti)`);
  return path;
}

export function tproxyConfig(l: ZitiRouterLab, pinRoot: string, dir: string): Record<string, unknown> {
  return {
    agent: { pinRoot, adminSocket: false, logLevel: 'warn' },
    plugins: [{ id: 'tc-tproxy', netns: `/var/run/netns/${l.netns.router}`, interfaces: [{ name: l.routerIf }] }],
    sources: [{ type: 'ziti', socket: join(dir, 'ziti.sock'), stateFile: join(dir, 'ziti-rules.json'), spool: join(dir, 'ziti-spool') }],
  };
}

export const tproxyScenario: DemoScenario = {
  name: 'tproxy',
  title: 'an OpenZiti router\'s tproxy interception (plugin tc-tproxy, source ziti via bpfsteer-diverter)',
  async run({ say, printConfig, teardown, prove }) {
    const lab = NetLab.create('demotp');
    teardown.defer(`remove lab ${lab.id}`, () => lab.destroy());
    const pinRoot = demoPinRoot(lab, teardown);
    const dir = mkdtempSync(join(tmpdir(), `bpfsteer-${lab.id}-`));
    teardown.defer(`remove ${dir}`, () => rmSync(dir, { recursive: true, force: true }));
    const l = buildZitiRouterLab(lab);
    const listener = await startZitiListener(lab.nsPath(l.netns.router));
    teardown.defer('stop the tproxy listener', () => listener.close());
    const { address, length } = l.serviceNetwork;
    say(`lab ${lab.id}: client ${l.client} -> router ${l.router} (${l.routerIf}); ${l.servicePrefix} is local on the router, nothing listens there`);
    say(`the router's tproxy listener (IP_TRANSPARENT): TCP 127.0.0.1:${listener.tcp4}, UDP 127.0.0.1:${listener.udp4}`);
    const config = tproxyConfig(l, pinRoot, dir);
    if (printConfig) say(`embedded agent config:\n${configText(config)}`);

    type Probe = { label: string; orig?: string; error?: string };
    const probeAll = async (): Promise<Probe[]> =>
      Promise.all(
        ([['tcp', l.tcpService, 80], ['udp', l.udpService, 53]] as const).map(async ([proto, host, port]) => {
          const r = await lab.exchange(l.netns.client, proto, host, port, { payload: 'probe', timeoutMs: 1000 });
          const orig = r.reply?.match(/^orig=(\S+) /)?.[1];
          return { label: `${proto.toUpperCase()} ${host}:${port}`, ...(orig ? { orig } : { error: r.error ?? `answer ${JSON.stringify(r.reply)}` }) };
        }),
      );
    const cells = (probes: Probe[]) => `  ${probes.map((p) => `${p.label} ${p.orig ? `-> listener, orig=${p.orig}` : `fails (${p.error})`}`).join(', ')}`;
    const failing = (probes: Probe[]) => probes.every((p) => !p.orig);
    const diverted = (probes: Probe[]) => probes.every((p) => p.orig === p.label.split(' ')[1]);

    say('1. without the agent');
    const before = await probeAll();
    say(cells(before));
    prove(failing(before), 'nothing listens on the service address: TCP is refused, UDP is not answered');

    const agent = await startDemoAgent(config, teardown);
    // the router: runs the diverter for each call, one after another, from its netns, judging the exit status
    const env = { ...process.env, BPFSTEER_ZITI_SOCKET: join(dir, 'ziti.sock'), BPFSTEER_ZITI_SPOOL: join(dir, 'ziti-spool'), BPFSTEER_DIVERTER_CONF: '/dev/null' };
    const router = startRouterStandIn({ diverter: nativeDiverter(), env, netns: lab.nsPath(l.netns.router) });
    teardown.defer('stop the router stand-in', () => router.stop());
    const calls = [
      ['-V'],
      ['-I', '-c', address, '-m', String(length), '-p', 'tcp', '-o', '0.0.0.0', '-n', '0', '-l', '80', '-h', '80', '-t', String(listener.tcp4), '-s', 'demo-web'],
      ['-I', '-c', address, '-m', String(length), '-p', 'udp', '-o', '0.0.0.0', '-n', '0', '-l', '53', '-h', '53', '-t', String(listener.udp4), '-s', 'demo-dns'],
    ];
    const results = [];
    for (const args of calls) results.push({ args, ...(await router.run(args)) });
    say('2. agent running (tc-tproxy on rt0, ziti source); the router ran:');
    for (const r of results) say(`  bpfsteer-diverter ${r.args.join(' ')}  -> exit ${r.code}${r.code === 0 ? '' : `: ${r.stderr.trim()}`}`);
    prove(results.every((r) => r.code === 0), "the router's -V and -I calls reach the agent through the ziti source and succeed");
    const during = await probeAll();
    say(cells(during));
    prove(diverted(during), 'TCP and UDP are diverted to the tproxy listener by bpf_sk_assign; it sees the original destination');
    const listing = await router.run(['-L']);
    say(listing.stdout.trimEnd().replace(/^/gm, '    '));

    await router.stop();
    await agent.stop();
    say('3. agent stopped');
    const after = await probeAll();
    say(cells(after));
    prove(failing(after), 'the firewall is detached with its maps: the flows fail again');
  },
};
