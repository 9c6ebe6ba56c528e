/**
 * The CNI side of the istiod source as one feed: a ZdsProxy (between istio-cni and the node proxy)
 * and HboneListeners on its pods. `change` fires (batched) with every pod known, with its netns,
 * addresses and HBONE listeners, and whether the initial sync is done: the node agent's first
 * snapshot went through (SnapshotSent) and the proxy acknowledged every pod it named. Once done it
 * stays done.
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
}

export class PodFeed extends EventEmitter<PodFeedEvents> {
  readonly options: PodFeedOptions;
  readonly proxy: ZdsProxy;
  readonly hbone: HboneListeners;
  #snapshotEnded = false;
  #synced = false;
  #started = false;

  /** Throws a ConfigError naming every problem of `options`. */
  constructor(options: PodFeedOptionsInput, deps: PodFeedDeps = {}) {
    super();
    const parsed = podFeedOptionsSchema.safeParse(options);
    if (!parsed.success) throw new ConfigError(issuesFromZod(parsed.error, { input: options, schema: podFeedOptionsSchema }));
    this.options = parsed.data;
    const { hbone, syncTimeoutMs: _wait, ...proxyOptions } = parsed.data;
    const logger: XdsLogger | undefined = deps.logger;
    this.proxy = new ZdsProxy(proxyOptions, { ...(logger ? { logger } : {}), ...(deps.random ? { random: deps.random } : {}), ...(deps.protoDir ? { protoDir: deps.protoDir } : {}) });
    this.hbone = new HboneListeners(this.proxy.pods, hbone, { ...deps.hbone, ...(logger ? { logger } : {}), ...(deps.random ? { random: deps.random } : {}) });
    this.hbone.on('change', (pods) => this.#emit(pods));
    this.proxy.pods.on('snapshot-ended', () => {
      this.#snapshotEnded = true;
      // the pods may all be confirmed already: HboneListeners would not fire again by itself
      setImmediate(() => this.#started && this.#emit(this.hbone.list()));
    });
  }

  get state(): PodFeedState {
    return { pods: this.hbone.list(), synced: this.#synced };
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
    this.hbone.stop();
    await this.proxy.stop();
  }

  #emit(pods: readonly PodNetwork[]): void {
    if (!this.#synced && this.#snapshotEnded && pods.every((p) => p.confirmed)) this.#synced = true;
    this.emit('change', { pods, synced: this.#synced });
  }
}
