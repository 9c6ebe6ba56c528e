// Drives bench/c/mesh_rr.c for bench/sklookup-traffic (a proxy-like server in a pod netns and a
// short-connection client in another netns) and builds its per-lookup baseline program.
import { execFileSync, spawnSync } from 'node:child_process';
import { mkdirSync } from 'node:fs';
import { createInterface } from 'node:readline';
import { fileURLToPath } from 'node:url';
import { buildC } from './build-c.mjs';

const here = fileURLToPath(new URL('.', import.meta.url));

/** Compiles bench/c/mesh_rr.c; returns the executable's path. */
export function buildMeshRr() {
  return buildC('mesh_rr', { libs: ['-lpthread'] });
}

/**
 * Starts `mesh_rr server` inside `netns` (a NetLab netns; the lab kills it on destroy). Resolves
 * with { pid, listenFd }: the listening socket is fd `listenFd` of process `pid` (nsenter execs the
 * server, so the child's pid is the server's).
 */
export async function startMeshServer(lab, netns, binary, port, threads) {
  const child = lab.spawn(netns, [binary, 'server', String(port), String(threads)]);
  let stderr = '';
  child.stderr.on('data', (d) => (stderr += d));
  const lines = createInterface({ input: child.stdout });
  const listenFd = await new Promise((resolve, reject) => {
    const timer = setTimeout(() => reject(new Error(`mesh_rr server in ${netns} not ready: ${stderr}`)), 10_000);
    lines.once('line', (line) => {
      clearTimeout(timer);
      const m = /^ready (\d+)$/.exec(line);
      if (m) resolve(Number(m[1]));
      else reject(new Error(`mesh_rr server in ${netns}: unexpected "${line}"`));
    });
    child.once('exit', (code) => {
      clearTimeout(timer);
      reject(new Error(`mesh_rr server in ${netns} exited ${code}: ${stderr.trim()}`));
    });
  });
  return { pid: child.pid, listenFd, stop: () => child.kill('SIGKILL') };
}

/**
 * Runs `mesh_rr client` inside `netns` for `seconds` (IP_TOS `tos` when given); returns
 * { connections, errors, wrong, seconds, rate }.
 */
export function runMeshClient(lab, netns, binary, { host, port, workers, seconds, tos }) {
  const argv = [...lab.nsenter(netns), binary, 'client', host, String(port), String(workers), String(seconds)];
  if (tos !== undefined) argv.push(`0x${tos.toString(16)}`);
  const r = spawnSync(argv[0], argv.slice(1), { encoding: 'utf8', timeout: (seconds + 30) * 1000 });
  if (r.status !== 0) throw new Error(`mesh_rr client ${host}:${port}: exited ${r.status ?? r.signal}: ${r.stderr || r.error?.message}`);
  return JSON.parse(r.stdout.trim());
}

/** Compiles bench/c/mesh_empty_sk_lookup.bpf.c (an sk_lookup program that only passes); returns the object's path. */
export function buildEmptySkLookup() {
  mkdirSync(`${here}out`, { recursive: true });
  const out = `${here}out/mesh_empty_sk_lookup.bpf.o`;
  const arch = `/usr/include/${execFileSync('uname', ['-m'], { encoding: 'utf8' }).trim()}-linux-gnu`;
  execFileSync('clang', ['-O2', '-g', '-target', 'bpf', '-Wall', '-Werror', `-I${arch}`, '-c', `${here}c/mesh_empty_sk_lookup.bpf.c`, '-o', out], { stdio: 'inherit' });
  return out;
}

/** A `struct bpf_sk_lookup` (72 bytes) for BPF_PROG_TEST_RUN of a TCP/IPv4 lookup. */
export function skLookupContext({ remote, remotePort, local, localPort }) {
  const ctx = Buffer.alloc(72);
  const ip4 = (text, at) => Buffer.from(text.split('.').map(Number)).copy(ctx, at); // network order
  ctx.writeUInt32LE(2, 8); // family AF_INET
  ctx.writeUInt32LE(6, 12); // protocol IPPROTO_TCP
  ip4(remote, 16); // remote_ip4
  ctx.writeUInt16BE(remotePort, 36); // remote_port, network order
  ip4(local, 40); // local_ip4
  ctx.writeUInt32LE(localPort, 60); // local_port, host order
  return ctx;
}
