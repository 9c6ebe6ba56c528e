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

  /** --zds PATH and the other flags of ztunnel-like.ts */
  static spawn(flags: Record<string, string>): ZtunnelChild {
    const argv = Object.entries(flags).flatMap(([k, v]) => [`--${k}`, v]);
    return new ZtunnelChild(spawn(process.execPath, ['--no-warnings', '--import', HOOKS, SCRIPT, ...argv], { stdio: ['ignore', 'pipe', 'pipe'] }));
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
