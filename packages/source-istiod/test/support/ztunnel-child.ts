/** Runs test/support/ztunnel-like.ts as a child process and follows the JSON events it prints. */
import { type ChildProcess, spawn } from 'node:child_process';
import { createInterface } from 'node:readline';
import { fileURLToPath } from 'node:url';

const HOOKS = fileURLToPath(new URL('./ts-hooks.mjs', import.meta.url));
const SCRIPT = fileURLToPath(new URL('./ztunnel-like.ts', import.meta.url));

export type ZtunnelEvent = { readonly event: string; readonly [k: string]: unknown };

export class ZtunnelChild {
  readonly events: ZtunnelEvent[] = [];
  readonly #child: ChildProcess;
  #stderr = '';
  #listeners: Array<() => void> = [];
  #exited = false;
  #dials = 0;

  private constructor(child: ChildProcess) {
    this.#child = child;
    createInterface({ input: child.stdout! }).on('line', (line) => {
      try {
        this.events.push(JSON.parse(line) as ZtunnelEvent);
      } catch {
        this.events.push({ event: 'unparsed', line });
      }
      for (const l of this.#listeners) l();
    });
    child.stderr!.on('data', (d) => (this.#stderr += d));
    child.once('exit', () => {
      this.#exited = true;
      for (const l of this.#listeners) l();
    });
  }

  /**
   * --zds PATH and the other flags of ztunnel-like.ts. With `cgroup` (an absolute cgroup2 directory)
   * the process moves itself there before it starts, so every socket it (and its helpers) open is
   * charged to that cgroup.
   */
  static spawn(flags: Record<string, string>, options: { cgroup?: string } = {}): ZtunnelChild {
    const argv = [process.execPath, '--no-warnings', '--import', HOOKS, SCRIPT, ...Object.entries(flags).flatMap(([k, v]) => [`--${k}`, v])];
    const stdio: ['pipe', 'pipe', 'pipe'] = ['pipe', 'pipe', 'pipe'];
    const child = options.cgroup
      ? spawn('sh', ['-c', 'echo $$ > "$0/cgroup.procs" && exec "$@"', options.cgroup, ...argv], { stdio })
      : spawn(argv[0], argv.slice(1), { stdio });
    return new ZtunnelChild(child);
  }

  /**
   * The proxy's own connection to host:port from inside pod `uid`'s netns (SO_MARK `mark`, default
   * the proxy's --mark), made by a helper process of the proxy: {ok, reply} or {ok: false, error}.
   */
  async dial(d: { uid: string; host: string; port: number; bind?: string; mark?: number }): Promise<{ ok: boolean; reply?: string; error?: string }> {
    const id = ++this.#dials;
    this.#child.stdin!.write(`${JSON.stringify({ id, dial: d })}\n`);
    const e = await this.waitFor((x) => x.event === 'dialed' && x.id === id);
    return e as unknown as { ok: boolean; reply?: string; error?: string };
  }

  get pid(): number {
    return this.#child.pid!;
  }

  get stderr(): string {
    return this.#stderr;
  }

  /** Events of one kind, in order. */
  of(kind: string): ZtunnelEvent[] {
    return this.events.filter((e) => e.event === kind);
  }

  /** Resolves with the first event (from the start) matching `match` that is the `nth` such (1-based). */
  waitFor(match: (e: ZtunnelEvent) => boolean, nth = 1, timeoutMs = 10_000): Promise<ZtunnelEvent> {
    return new Promise((resolve, reject) => {
      const check = (): boolean => {
        const found = this.events.filter(match)[nth - 1];
        if (found) {
          resolve(found);
          return true;
        }
        if (this.#exited) {
          reject(new Error(`ztunnel-like exited; events ${JSON.stringify(this.events)}; stderr ${this.#stderr}`));
          return true;
        }
        return false;
      };
      if (check()) return;
      const timer = setTimeout(() => {
        this.#listeners = this.#listeners.filter((l) => l !== listener);
        reject(new Error(`timeout waiting for a ztunnel-like event; events ${JSON.stringify(this.events)}; stderr ${this.#stderr}`));
      }, timeoutMs);
      const listener = (): void => {
        if (check()) {
          clearTimeout(timer);
          this.#listeners = this.#listeners.filter((l) => l !== listener);
        }
      };
      this.#listeners.push(listener);
    });
  }

  /** Stop it (SIGKILL) and wait for the exit. */
  async kill(): Promise<void> {
    if (this.#exited) return;
    const exited = new Promise<void>((resolve) => this.#child.once('exit', () => resolve()));
    this.#child.kill('SIGKILL');
    await exited;
  }
}
