/**
 * The calls the native client (native/bpfsteer-diverter.c) kept while it could not reach the
 * agent: one file per call in the spool directory, `<20-digit number>.call`, numbered in the order
 * the calls were made, each written whole and fsync'd before the client exited 0. The agent
 * applies them in that order and removes each once it ran, at start (after the saved rules are
 * published), when a client that kept a call asks (POST /v1/diverter/drain), and every few seconds.
 *
 * Order with calls that reach the agent: a client that changes rules holds the spool's lock while
 * it forwards its call, and keeps it instead whenever a kept call is still there, so no call
 * overtakes one made before it. A call that ran and was not removed yet (the agent stopped in
 * between) runs again at the next start: an insert is an upsert, a delete of what is gone fails
 * (logged), nothing else changes.
 *
 * A file that is not a call (unreadable JSON, not the shape of one) is renamed `<name>.bad` and
 * logged; nothing else is ever removed but calls that ran.
 */
import { mkdir, readdir, readFile, rename, unlink } from 'node:fs/promises';
import { join } from 'node:path';
import { z } from 'zod';
import type { Logger } from '@bpfsteer/agent-kernel';
import { forwardedCallSchema, type ForwardedCall } from './diverter/forwarded-call.js';
import { errorMessage } from './errors.js';
import type { ZitiMetrics } from './ziti-metrics.js';

const RECORD = /^\d{20}\.call$/;

/** A kept call: what the client forwards, and when it was kept (wall clock, ms). */
const keptCallSchema = forwardedCallSchema.extend({ at: z.number().int().nonnegative() });

/** How often the directory is looked at while nothing asks (a client that kept a call asks at once). */
export const SPOOL_CHECK_MS = 5000;

/** What running a call gave (forwarded-call.ts's runCollected). */
export interface CallRun {
  readonly status: number;
  /** refused for a reason that may pass (no running plugin, a failed apply): kept, tried again later */
  readonly transient: boolean;
  readonly stdout: string;
  readonly stderr: string;
}

export interface DiverterSpoolOptions {
  readonly dir: string;
  /** runs one call (forwarded-call.ts); never rejects */
  readonly run: (call: ForwardedCall) => Promise<CallRun>;
  readonly logger: Logger;
  readonly checkMs?: number;
  /** where the calls run are counted (bpfsteer_ziti_spool_calls_total) */
  readonly metrics?: Pick<ZitiMetrics, 'spoolCall'>;
}

export class DiverterSpool {
  readonly #options: DiverterSpoolOptions;
  #draining: Promise<void> | undefined;
  #again = false;
  #timer: NodeJS.Timeout | undefined;
  #stopped = false;

  constructor(options: DiverterSpoolOptions) {
    this.#options = options;
  }

  get dir(): string {
    return this.#options.dir;
  }

  /** Creates the directory (0700) when missing, applies what it holds, then looks again every few seconds. */
  async start(): Promise<void> {
    await mkdir(this.#options.dir, { recursive: true, mode: 0o700 });
    await this.drain();
    if (this.#stopped) return;
    this.#timer = setInterval(() => void this.drain(), this.#options.checkMs ?? SPOOL_CHECK_MS);
    this.#timer.unref();
  }

  /** Applies every kept call in order; one drain at a time (a request meanwhile makes it look once more). */
  drain(): Promise<void> {
    if (this.#stopped) return Promise.resolve();
    if (this.#draining) {
      this.#again = true;
      return this.#draining;
    }
    this.#draining = (async () => {
      try {
        do {
          this.#again = false;
          while (!this.#stopped && (await this.#applyKept()) > 0);
        } while (this.#again && !this.#stopped);
      } catch (err) {
        this.#options.logger.error({ err, spool: this.#options.dir }, `cannot apply the kept diverter calls: ${errorMessage(err)}`);
      } finally {
        this.#draining = undefined;
      }
    })();
    return this.#draining;
  }

  /** Stops looking; a call running now finishes first. */
  async stop(): Promise<void> {
    this.#stopped = true;
    clearInterval(this.#timer);
    await this.#draining;
  }

  /** Applies the calls in the directory now, in order; resolves to how many there were (0 when one must wait: the rest stay). */
  async #applyKept(): Promise<number> {
    const { dir, logger } = this.#options;
    let names: string[];
    try {
      names = (await readdir(dir)).filter((n) => RECORD.test(n)).sort();
    } catch (err) {
      if ((err as NodeJS.ErrnoException).code === 'ENOENT') return 0;
      throw err;
    }
    for (const name of names) {
      if (this.#stopped) break;
      const path = join(dir, name);
      const call = await this.#read(path);
      if (call === undefined) continue;
      const { at, ...forwarded } = call;
      const run = await this.#options.run(forwarded);
      const fields = { spool: dir, record: name, keptAt: new Date(at).toISOString(), program: forwarded.program, args: forwarded.args, exit: run.status };
      const output = `${run.stdout}${run.stderr}`.trim();
      this.#options.metrics?.spoolCall(run.transient ? 'deferred' : run.status === 0 ? 'applied' : 'failed');
      if (run.transient) {
        // it and every call after it stay, in order, for the next look
        logger.warn(fields, `a kept diverter call cannot be applied yet; tried again in ${(this.#options.checkMs ?? SPOOL_CHECK_MS) / 1000} s: ${output}`);
        return 0;
      }
      if (run.status === 0) logger.info(fields, `applied a diverter call kept while the agent was unreachable: ${output}`);
      else logger.warn(fields, `a diverter call kept while the agent was unreachable failed (exit ${run.status}): ${output}`);
      await unlink(path);
    }
    return names.length;
  }

  /** The call in `path`, or undefined when it is not one (then renamed .bad). */
  async #read(path: string): Promise<(ForwardedCall & { at: number }) | undefined> {
    let problem: string;
    try {
      const parsed = keptCallSchema.safeParse(JSON.parse(await readFile(path, 'utf8')));
      if (parsed.success) return parsed.data;
      problem = parsed.error.issues.map((i) => `${i.path.join('.') || 'call'}: ${i.message}`).join('; ');
    } catch (err) {
      problem = errorMessage(err);
    }
    this.#options.logger.error({ spool: this.#options.dir, record: path }, `not a kept diverter call (${problem}); renamed ${path}.bad`);
    this.#options.metrics?.spoolCall('invalid');
    await rename(path, `${path}.bad`);
    return undefined;
  }
}
