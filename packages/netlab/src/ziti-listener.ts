/**
 * Starts the "ziti-like tproxy listener" fixture (ziti-listener.c) inside a network namespace.
 *
 * The C source is compiled with clang on first use into os.tmpdir(), cached by the hash of its
 * content (a changed source gets a new binary; concurrent test processes never see a half-written
 * one). The process serves TCP and UDP on 127.0.0.1 and [::1] with IP_TRANSPARENT and answers
 * every connection / datagram with `orig=<original destination> peer=<client> data=<first line>`.
 */
import { spawn, spawnSync } from 'node:child_process';
import { createHash } from 'node:crypto';
import { existsSync, readFileSync, renameSync, rmSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { createInterface } from 'node:readline';
import { fileURLToPath } from 'node:url';

export interface ZitiListener {
  /** the ports of the four tproxy sockets (127.0.0.1 / [::1]) */
  readonly tcp4: number;
  readonly udp4: number;
  readonly tcp6: number;
  readonly udp6: number;
  /** stop the listener (idempotent) */
  /** Stops it; resolves once its process exited (its sockets are closed then). */
  close(): Promise<void>;
}

const SOURCE = fileURLToPath(new URL('../fixtures/ziti-listener.c', import.meta.url));
const START_TIMEOUT_MS = 10_000;

/** Path of the compiled fixture, compiling it when this source version has no binary yet. */
export function zitiListenerBinary(): string {
  const source = readFileSync(SOURCE);
  const hash = createHash('sha256').update(source).digest('hex').slice(0, 16);
  const binary = join(tmpdir(), `bpfsteer-ziti-listener-${hash}`);
  if (existsSync(binary)) return binary;
  const partial = `${binary}.${process.pid}.tmp`;
  const r = spawnSync('clang', ['-O2', '-Wall', '-Werror', '-o', partial, SOURCE], { encoding: 'utf8' });
  if (r.status !== 0) {
    rmSync(partial, { force: true });
    throw new Error(`compile ${SOURCE} with clang failed (${r.error?.message ?? `exit ${r.status}`}): ${r.stderr}`);
  }
  renameSync(partial, binary);
  return binary;
}

/**
 * Start the listener inside `netns` (an `ip netns` name or an absolute netns path); resolves once it
 * listens, with its ports. The caller must close() it (it also dies with the test process).
 */
export async function startZitiListener(netns: string): Promise<ZitiListener> {
  const nsPath = netns.startsWith('/') ? netns : `/var/run/netns/${netns}`;
  if (!existsSync(nsPath)) throw new Error(`startZitiListener: no network namespace at ${nsPath}`);
  const child = spawn('nsenter', [`--net=${nsPath}`, '--', zitiListenerBinary()], { stdio: ['ignore', 'pipe', 'pipe'] });
  let stderr = '';
  child.stderr.on('data', (d: Buffer) => (stderr += d.toString()));
  const exited = new Promise<void>((resolve) => child.once('exit', () => resolve()));
  const close = (): Promise<void> => {
    if (child.exitCode === null && child.signalCode === null) child.kill('SIGTERM');
    return exited;
  };
  const lines = createInterface({ input: child.stdout });
  try {
    const ports = await new Promise<Record<'tcp4' | 'udp4' | 'tcp6' | 'udp6', number>>((resolve, reject) => {
      const timer = setTimeout(() => reject(new Error(`ziti listener in ${netns} not ready after ${START_TIMEOUT_MS} ms: ${stderr}`)), START_TIMEOUT_MS);
      lines.once('line', (line) => {
        clearTimeout(timer);
        resolve(JSON.parse(line));
      });
      child.once('exit', (code, signal) => {
        clearTimeout(timer);
        reject(new Error(`ziti listener in ${netns} exited (${code ?? signal}) before it listened: ${stderr.trim()}`));
      });
      child.once('error', (err) => {
        clearTimeout(timer);
        reject(err);
      });
    });
    return { ...ports, close };
  } catch (err) {
    close();
    throw err;
  } finally {
    lines.close();
  }
}
