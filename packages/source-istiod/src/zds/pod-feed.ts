/**
 * The CNI side of the istiod source as one feed: a ZdsProxy (between istio-cni and the node proxy)
 * and HboneListeners on its pods. `change` fires (batched) with every pod known, with its netns,
 * addresses and HBONE listeners, and whether the initial sync is done: the node agent's first
 * snapshot went through (SnapshotSent) and the proxy acknowledged (or refused: pending) every pod
 * it named. Once done it stays done.
 *
 * When a proxy's ZDS session ends (it exited, or its connection broke), the listeners only this
 * agent still holds are let go (HboneListeners.releaseOrphans), at once and a few times more while
 * the exiting process closes its fds.
 */
import { EventEmitter } from 'node:events';
import { ConfigError, issuesFromZod } from '@bpfsteer/agent-kernel';
import type { XdsLogger } from '../xds/delta-ads-client.js';
import { HboneListeners, type HboneListenersDeps, type PodNetwork } from './hbone-listeners.js';
import { type PodFeedOptions, type PodFeedOptionsInput, podFeedOptionsSchema } from './pod-feed-options.js';
import { ZdsProxy, type ZdsProxyDeps } from './zds-proxy.js';

export interface PodFeedState {
  readonly pods: readonly PodNetwork[];
  /** the first snapshot went through and every pod in it was acknowledged by the proxy */
  readonly synced: boolean;
}

export interface PodFeedEvents {
  change: [PodFeedState];
}

export interface PodFeedDeps extends ZdsProxyDeps {
  /** replaceable parts of HboneListeners (tests) */
  readonly hbone?: Omit<HboneListenersDeps, 'logger' | 'random'>;
  /** when, after a session ended, to look for listeners no proxy holds (ms; default 0, 250, 1000, 3000) */
  readonly orphanChecksMs?: readonly number[];
}

const ORPHAN_CHECKS_MS: readonly number[] = [0, 250, 1000, 3000];

export class PodFeed extends EventEmitter<PodFeedEvents> {
  readonly options: PodFeedOptions;
  readonly proxy: ZdsProxy;
  readonly hbone: HboneListeners;
  #snapshotEnded = false;
  #synced = false;
  #started = false;
  readonly #orphanChecksMs: readonly number[];
  readonly #orphanTimers = new Set<NodeJS.Timeout>();

  /** Throws a ConfigError naming every problem of `options`. */
  constructor(options: PodFeedOptionsInput, deps: PodFeedDeps = {}) {
    super();
    const parsed = podFeedOptionsSchema.safeParse(options);
    if (!parsed.success) throw new ConfigError(issuesFromZod(parsed.error, { input: options, schema: podFeedOptionsSchema }));
    this.options = parsed.data;
    const { hbone, syncWarnMs: _warn, syncTimeoutMs: _gone, ...proxyOptions } = parsed.data;
    const logger: XdsLogger | undefined = deps.logger;
    this.proxy = new ZdsProxy(proxyOptions, {
      ...(logger ? { logger } : {}),
      ...(deps.random ? { random: deps.random } : {}),
      ...(deps.protoDir ? { protoDir: deps.protoDir } : {}),
      ...(deps.metrics ? { metrics: deps.metrics } : {}),
    });
    this.hbone = new HboneListeners(this.proxy.pods, hbone, { ...deps.hbone, ...(logger ? { logger } : {}), ...(deps.random ? { random: deps.random } : {}) });
    this.#orphanChecksMs = deps.orphanChecksMs ?? ORPHAN_CHECKS_MS;
    this.hbone.on('change', (pods) => this.#emit(pods));
    this.proxy.on('session-ended', () => this.#checkOrphans());
    this.proxy.pods.on('snapshot-ended', () => {
      this.#snapshotEnded = true;
      // the pods may all be confirmed already: HboneListeners would not fire again by itself
      setImmediate(() => this.#started && this.#emit(this.hbone.list()));
    });
  }

  get state(): PodFeedState {
    return { pods: this.hbone.list(), synced: this.#synced };
  }

  /** whether the initial sync is done (PodFeedState.synced, without listing the pods) */
  get synced(): boolean {
    return this.#synced;
  }

  /** Listen for the proxy (ZDS) and, if configured, for listener registrations. */
  start(): void {
    if (this.#started) return;
    this.#started = true;
    this.hbone.start();
    this.proxy.start();
  }

  /** Stop relaying and close every fd (netns and listeners). */
  async stop(): Promise<void> {
    if (!this.#started) return;
    this.#started = false;
    for (const t of this.#orphanTimers) clearTimeout(t);
    this.#orphanTimers.clear();
    this.hbone.stop();
    await this.proxy.stop();
  }

  /** After a session ended: let go of the listeners no proxy holds, now and a few times later. */
  #checkOrphans(): void {
    for (const ms of this.#orphanChecksMs) {
      const timer = setTimeout(() => {
        this.#orphanTimers.delete(timer);
        if (this.#started) this.hbone.releaseOrphans();
      }, ms);
      this.#orphanTimers.add(timer);
    }
  }

  #emit(pods: readonly PodNetwork[]): void {
    // a pod the proxy refused does not hold the sync back: the proxy retries it by itself (as it does)
    if (!this.#synced && this.#snapshotEnded && pods.every((p) => p.confirmed || p.pending)) this.#synced = true;
    this.emit('change', { pods, synced: this.#synced });
  }
}
