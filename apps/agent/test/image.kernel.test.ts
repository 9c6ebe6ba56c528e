/**
 * The agent's container image (scripts/build-image.sh), run for real: a container made by buildah
 * from the OCI archive and run by crun, the command taken from the image's own config (Entrypoint
 * and Cmd, never written here). Inside it, `--version`, `--help` and `validate` answer as the built
 * CLI does outside, on the agent config of the ambient ConfigMap (`bpfsteer manifests ambient`)
 * mounted where the image's default command reads it; and the default command itself runs the
 * agent with the DaemonSet's capabilities: the tc-nexthop program loaded by the image's libbpf and
 * attached, the admin socket answering, SIGTERM stopping it with its pins removed.
 *
 * The archive: dist/image/bpfsteer-agent.oci.tar (or $BPFSTEER_IMAGE). CI builds it before the
 * kernel tests (scripts/test.sh) and this test fails without it; elsewhere it is built here when
 * missing (scripts/build-image.sh, a few minutes the first time). Every buildah object of this test
 * lives in a storage of its own under its temp dir, which goes at the end, whatever happened.
 */
import { type ChildProcess, spawn, spawnSync } from 'node:child_process';
import { existsSync, mkdirSync, mkdtempSync, readdirSync, readFileSync, rmSync, writeFileSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { dirname, join } from 'node:path';
import { fileURLToPath } from 'node:url';
import { parseAllDocuments, stringify } from 'yaml';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { cgroup2Root } from '@bpfsteer/core-bpf';
import { spawnBpfsteer } from './support/spawn-bpfsteer.js';

const repoRoot = fileURLToPath(new URL('../../../', import.meta.url));
const archive = process.env.BPFSTEER_IMAGE ?? join(repoRoot, 'dist', 'image', 'bpfsteer-agent.oci.tar');
const inCi = !!process.env.CI && process.env.CI !== 'false' && process.env.CI !== '0';
const agentVersion = (JSON.parse(readFileSync(join(repoRoot, 'apps', 'agent', 'package.json'), 'utf8')) as { version: string }).version;

/** where crun looks for the cgroup hierarchy (its fixed path, not this host's choice) */
const CRUN_CGROUP_DIR = '/sys/fs/cgroup';
const id = `bpfsteer-image-kt-${process.pid}`;
const dir = mkdtempSync(join(tmpdir(), `${id}-`));
const storage = join(dir, 'storage');
const pinRoot = `/sys/fs/bpf/${id}`;
// buildah 1.28 keeps a blob-info cache in /var/lib/containers/cache whatever --root says: when this
// test made that directory, it removes it again
const varLibContainersWasThere = existsSync('/var/lib/containers');
let driver = process.env.BPFSTEER_IMAGE_STORAGE_DRIVER ?? 'overlay';
let container: string | undefined;
let imageConfig: { Entrypoint?: string[]; Cmd?: string[]; Labels?: Record<string, string> };
const children: ChildProcess[] = [];
const agentPids: number[] = [];

interface Result {
  code: number | null;
  stdout: string;
  stderr: string;
}

function buildah(...args: string[]): string {
  const r = spawnSync('buildah', ['--root', join(storage, 'root'), '--runroot', join(storage, 'run'), '--storage-driver', driver, ...args], {
    encoding: 'utf8',
  });
  if (r.status !== 0) throw new Error(`buildah ${args.join(' ')}: exit ${r.status}: ${r.stderr || r.error}`);
  return r.stdout;
}

/**
 * crun 1.8 refuses every container on a host with hybrid cgroups whose cgroup2 hierarchy holds a
 * controller ("cgroups in hybrid mode not supported, drop all controllers from cgroupv2"; e.g. hugetlb
 * on a cgroup2 mount beside the v1 ones). There buildah runs in a mount namespace of its own without
 * that mount (found in mountinfo, as core-bpf finds it), where crun sees cgroup v1 only; the host's
 * mounts stay as they are. Hybrid: crun's own view, /sys/fs/cgroup, is not the cgroup2 mount.
 */
function cgroupWorkaround(): string[] {
  const unified = cgroup2Root();
  if (unified === CRUN_CGROUP_DIR) return [];
  const controllers = join(unified, 'cgroup.controllers');
  if (!existsSync(controllers) || readFileSync(controllers, 'utf8').trim() === '') return [];
  return ['unshare', '--mount', '--propagation', 'private', '--', 'sh', '-c', 'umount "$0" && exec "$@"', unified];
}

/** Linux's capabilities, each at the index of its number */
const CAPABILITIES = [
  'CHOWN', 'DAC_OVERRIDE', 'DAC_READ_SEARCH', 'FOWNER', 'FSETID', 'KILL', 'SETGID', 'SETUID', 'SETPCAP', 'LINUX_IMMUTABLE',
  'NET_BIND_SERVICE', 'NET_BROADCAST', 'NET_ADMIN', 'NET_RAW', 'IPC_LOCK', 'IPC_OWNER', 'SYS_MODULE', 'SYS_RAWIO', 'SYS_CHROOT',
  'SYS_PTRACE', 'SYS_PACCT', 'SYS_ADMIN', 'SYS_BOOT', 'SYS_NICE', 'SYS_RESOURCE', 'SYS_TIME', 'SYS_TTY_CONFIG', 'MKNOD', 'LEASE',
  'AUDIT_WRITE', 'AUDIT_CONTROL', 'SETFCAP', 'MAC_OVERRIDE', 'MAC_ADMIN', 'SYSLOG', 'WAKE_ALARM', 'BLOCK_SUSPEND', 'AUDIT_READ',
  'PERFMON', 'BPF', 'CHECKPOINT_RESTORE',
];

interface RunOptions {
  /** host dir -> container dir */
  readonly mounts?: ReadonlyArray<{ from: string; to: string; writable?: boolean }>;
  /** capabilities, as Kubernetes names them (BPF, NET_ADMIN, ...); none: buildah's defaults */
  readonly capabilities?: readonly string[];
}

/** `argv` in the image (its own network namespace, no network), run by crun */
function inImage(argv: readonly string[], o: RunOptions = {}): { child: ChildProcess; done: Promise<Result> } {
  const flags = ['--runtime', 'crun', '--network', 'none'];
  for (const m of o.mounts ?? []) flags.push('--mount', `type=bind,src=${m.from},dst=${m.to},${m.writable ? 'rw' : 'ro'}`);
  if (o.capabilities) {
    // exactly these, as Kubernetes' drop ALL + add gives (buildah applies --cap-drop after --cap-add:
    // `--cap-drop all` would leave none)
    const drop = CAPABILITIES.filter((c) => !o.capabilities!.includes(c));
    flags.push('--cap-drop', drop.map((c) => `CAP_${c}`).join(','), '--cap-add', o.capabilities.map((c) => `CAP_${c}`).join(','));
  }
  const [cmd, ...args] = [
    ...cgroupWorkaround(),
    'buildah',
    '--root', join(storage, 'root'), '--runroot', join(storage, 'run'), '--storage-driver', driver,
    'run', ...flags, container!, '--', ...argv,
  ];
  const child = spawn(cmd!, args, { stdio: ['ignore', 'pipe', 'pipe'] });
  children.push(child);
  let stdout = '';
  let stderr = '';
  child.stdout!.on('data', (c: Buffer) => (stdout += c.toString()));
  child.stderr!.on('data', (c: Buffer) => (stderr += c.toString()));
  const done = new Promise<Result>((resolve) => child.on('close', (code) => resolve({ code, stdout, stderr })));
  return { child, done };
}

const outside = (...args: string[]) => spawnBpfsteer(args, children).done;
const entrypoint = () => imageConfig.Entrypoint ?? [];
/** the config file of the image's default command (`run -c <file>`) */
function defaultConfigFile(): string {
  const cmd = imageConfig.Cmd ?? [];
  const i = cmd.indexOf('-c');
  expect(cmd[0], `Cmd ${JSON.stringify(cmd)}`).toBe('run');
  expect(i, `Cmd ${JSON.stringify(cmd)}`).toBeGreaterThan(0);
  return cmd[i + 1]!;
}

/** the rendered ambient manifests (ConfigMap, DaemonSet, ...) of the built CLI */
async function ambientManifests(): Promise<Array<{ kind: string; data?: Record<string, string>; spec?: any }>> {
  const r = await outside('manifests', 'ambient');
  expect(r.code, r.stderr).toBe(0);
  return parseAllDocuments(r.stdout).map((d) => d.toJS());
}

/** host pids of the processes below `pid` (from /proc: pid -> parent) */
function descendants(pid: number): number[] {
  const parent = new Map<number, number>();
  for (const e of readdirSync('/proc')) {
    if (!/^\d+$/.test(e)) continue;
    try {
      const stat = readFileSync(`/proc/${e}/stat`, 'utf8');
      parent.set(Number(e), Number(stat.slice(stat.lastIndexOf(')') + 2).split(' ')[1]));
    } catch {
      // gone meanwhile
    }
  }
  return [...parent.keys()].filter((p) => {
    for (let q = parent.get(p); q !== undefined && q > 1; q = parent.get(q)) if (q === pid) return true;
    return false;
  });
}

/** the host pid of the container's first process (pid 1 in its pid namespace) started by `pid` */
function containerInit(pid: number): number | undefined {
  return descendants(pid).find((p) => {
    try {
      return /^NSpid:\t\d+.*\t1$/m.test(readFileSync(`/proc/${p}/status`, 'utf8'));
    } catch {
      return false;
    }
  });
}

async function waitFor<T>(what: string, probe: () => Promise<T | undefined> | T | undefined, ms = 30_000): Promise<T> {
  const until = Date.now() + ms;
  for (;;) {
    const v = await probe();
    if (v !== undefined) return v;
    if (Date.now() > until) throw new Error(`timed out waiting for ${what}`);
    await new Promise((res) => setTimeout(res, 200));
  }
}

beforeAll(() => {
  if (!existsSync(archive)) {
    if (inCi) {
      throw new Error(`no image at ${archive}: build it before the kernel tests with \`bash scripts/build-image.sh\` (scripts/test.sh does)`);
    }
    const r = spawnSync('bash', [join(repoRoot, 'scripts', 'build-image.sh'), '--output', archive], { stdio: ['ignore', 'inherit', 'inherit'] });
    if (r.status !== 0) throw new Error(`no image at ${archive}, and \`bash scripts/build-image.sh\` failed (exit ${r.status})`);
  }
  // overlay needs a backing filesystem that is not overlayfs itself; vfs works everywhere
  if (!process.env.BPFSTEER_IMAGE_STORAGE_DRIVER) {
    try {
      buildah('info');
    } catch {
      rmSync(storage, { recursive: true, force: true });
      driver = 'vfs';
    }
  }
  container = buildah('from', '--quiet', '--name', id, `oci-archive:${archive}`).trim();
  imageConfig = (JSON.parse(buildah('inspect', '--type', 'container', container)) as { OCIv1: { config: typeof imageConfig } }).OCIv1.config;
}, 20 * 60_000);

afterAll(async () => {
  for (const pid of agentPids) {
    try {
      process.kill(pid, 'SIGKILL');
    } catch {
      // gone
    }
  }
  // buildah run must be gone before its container goes
  const running = children.filter((c) => c.exitCode === null && c.signalCode === null);
  for (const c of running) c.kill('SIGKILL');
  await Promise.all(running.map((c) => new Promise((res) => (c.exitCode !== null || c.signalCode !== null ? res(0) : c.once('exit', res)))));
  // its container, its image, then the whole storage with the temp files
  if (container) {
    try {
      buildah('rm', container);
      buildah('rmi', '--all', '--force');
    } catch (err) {
      console.error(err);
    }
  }
  for (const line of readFileSync('/proc/self/mountinfo', 'utf8').split('\n').reverse()) {
    const mountPoint = line.split(' ')[4];
    if (mountPoint?.startsWith(`${dir}/`)) spawnSync('umount', ['-l', mountPoint]);
  }
  rmSync(dir, { recursive: true, force: true });
  rmSync(pinRoot, { recursive: true, force: true });
  if (!varLibContainersWasThere && existsSync('/var/lib/containers')) {
    const left = readdirSync('/var/lib/containers', { recursive: true }).map(String).sort();
    if (left.join() === ['cache', join('cache', 'blob-info-cache-v1.boltdb')].join()) rmSync('/var/lib/containers', { recursive: true, force: true });
  }
});

describe('the agent image', () => {
  it('has an entrypoint, the default command `run -c <file>`, and the labels of its version', () => {
    expect(entrypoint().length).toBeGreaterThan(0);
    expect(defaultConfigFile()).toMatch(/^\/.+\.yaml$/);
    expect(imageConfig.Labels).toMatchObject({
      'org.opencontainers.image.title': 'bpfsteer-agent',
      'org.opencontainers.image.version': agentVersion,
      'org.opencontainers.image.revision': expect.stringMatching(/^[0-9a-f]{40}$/),
    });
  });

  it('--version reports the version of the packages', async () => {
    const r = await inImage([...entrypoint(), '--version']).done;
    expect(r.stderr).toBe('');
    expect(r.code).toBe(0);
    expect(r.stdout.trim()).toBe(agentVersion);
    expect(r.stdout).toBe((await outside('--version')).stdout);
  });

  it('--help prints what it prints outside', async () => {
    const [r, host] = await Promise.all([inImage([...entrypoint(), '--help']).done, outside('--help')]);
    expect(r.stderr).toBe('');
    expect(r.code).toBe(0);
    expect(r.stdout).toContain('validate');
    expect(r.stdout).toBe(host.stdout);
  });

  it('validate accepts the ambient ConfigMap config where the default command reads it, as outside', async () => {
    const configMap = (await ambientManifests()).find((d) => d.kind === 'ConfigMap')!;
    const file = defaultConfigFile();
    const text = configMap.data?.[file.slice(file.lastIndexOf('/') + 1)];
    expect(text, `ConfigMap data ${JSON.stringify(Object.keys(configMap.data ?? {}))} vs ${file}`).toBeDefined();
    const host = join(dir, 'validate', 'agent.yaml');
    mkdirSync(dirname(host), { recursive: true });
    writeFileSync(host, text!);

    const expected = await outside('validate', '-c', host);
    expect(expected.code, expected.stderr).toBe(0);
    const r = await inImage([...entrypoint(), 'validate', '-c', file], { mounts: [{ from: dirname(host), to: dirname(file) }] }).done;
    expect(r.stderr).toBe('');
    expect(r.code).toBe(0);
    expect(r.stdout).toBe(expected.stdout.replaceAll(host, file));
    expect(r.stdout).toContain(': valid (plugins: ');
  });

  it('validate refuses a bad config with exit 1 and the message it gives outside', async () => {
    const file = defaultConfigFile();
    const host = join(dir, 'bad', 'agent.yaml');
    mkdirSync(dirname(host), { recursive: true });
    writeFileSync(host, stringify({ plugins: [{ id: 'tc-nexthpo', interfaces: ['lo'] }], sources: [] }));
    const expected = await outside('validate', '-c', host);
    expect(expected.code).toBe(1);
    const r = await inImage([...entrypoint(), 'validate', '-c', file], { mounts: [{ from: dirname(host), to: dirname(file) }] }).done;
    expect(r.code).toBe(1);
    expect(r.stderr).toContain('tc-nexthpo');
    // (buildah adds a line of its own on a non-zero exit)
    const message = expected.stderr.replaceAll(host, file);
    expect(r.stderr.slice(0, message.length)).toBe(message);
  });

  it("the default command runs the agent: tc-nexthop loaded by the image's libbpf and attached, status over the admin socket, SIGTERM removes its pins", async () => {
    const daemonSet = (await ambientManifests()).find((d) => d.kind === 'DaemonSet')!;
    const capabilities = daemonSet.spec.template.spec.containers[0].securityContext.capabilities.add as string[];
    const file = defaultConfigFile();
    const adminSocket = '/run/bpfsteer/agent.sock';
    const config = join(dir, 'run', 'config');
    const run = join(dir, 'run', 'admin');
    mkdirSync(config, { recursive: true });
    mkdirSync(run, { recursive: true });
    writeFileSync(
      join(config, file.slice(file.lastIndexOf('/') + 1)),
      stringify({
        agent: { pinRoot, adminSocket, logLevel: 'info' },
        plugins: [{ id: 'tc-nexthop', interfaces: ['lo'] }], // the container's own lo
        sources: [{ type: 'static', intents: [] }],
      }),
    );
    const agent = inImage([...entrypoint(), ...(imageConfig.Cmd ?? [])], {
      capabilities,
      mounts: [
        { from: config, to: dirname(file) },
        { from: run, to: dirname(adminSocket), writable: true },
        { from: '/sys/fs/bpf', to: '/sys/fs/bpf', writable: true },
      ],
    });
    const socket = join(run, 'agent.sock');
    const status = await waitFor('the agent in the container to run', async () => {
      if (agent.child.exitCode !== null) throw new Error(`the agent exited: ${(await agent.done).stderr}`);
      const r = await outside('status', '--json', '-s', socket);
      const s = r.code === 0 ? (JSON.parse(r.stdout) as { agent: { state: string }; plugins: Array<{ id: string; state: string; attachments: unknown[] }> }) : undefined;
      return s?.agent.state === 'running' ? s : undefined;
    });
    const plugin = status.plugins.find((p) => p.id === 'tc-nexthop')!;
    expect(plugin.state).toBe('running');
    expect(plugin.attachments).toHaveLength(1);
    expect(existsSync(join(pinRoot, 'tc-nexthop'))).toBe(true);

    const pid = containerInit(agent.child.pid!);
    expect(pid, 'the container process on the host').toBeDefined();
    agentPids.push(pid!);
    // with the DaemonSet's capabilities and no other
    const capEff = BigInt(`0x${/^CapEff:\t([0-9a-f]+)$/m.exec(readFileSync(`/proc/${pid}/status`, 'utf8'))![1]}`);
    expect(capEff).toBe(capabilities.reduce((mask, c) => mask | (1n << BigInt(CAPABILITIES.indexOf(c))), 0n));
    process.kill(pid!, 'SIGTERM');
    const r = await agent.done;
    expect(r.code, r.stderr).toBe(0);
    expect(r.stdout + r.stderr).not.toMatch(/"level":"(error|fatal)"/);
    // the plugin's pins go (the empty pin root stays, as outside a container)
    expect(existsSync(pinRoot) ? readdirSync(pinRoot) : []).toEqual([]);
  });
});
