/**
 * Each pod's network as bpfsteer needs it: its netns (the registry's fd, as a path), its
 * addresses and the proxy's HBONE listening socket(s) inside it, obtained by registration (a
 * cooperating proxy hands the fd over) or by discovery (sock_diag + pidfd_getfd, tried once the
 * proxy confirmed the pod, retried with backoff until a listener shows up).
 *
 * Listener fds are duplicates owned here: closed when the pod goes, when a newer listener of the
 * same family replaces them, and by stop(). A registered listener wins over a discovered one.
 * `change` fires (batched, after the current event loop turn) with the whole list.
 *
 * The proxy going away: this agent's duplicate keeps a dead proxy's listener open, and it keeps
 * accepting connections nobody serves (they hang). `releaseOrphans()` (run when the proxy's ZDS
 * session ends) closes every listener no other process holds any more and marks its pod
 * `listenersLost`; discovery looks again at once (another proxy of a rolling update may serve the
 * pod already) and once the proxy is back (its Ack of the pod, or the next snapshot).
 *
 * A pod the proxy refused (pending in the registry) is looked at every `pendingRetryMs`, as
 * ztunnel retries it, until its listener is there: the pod is then confirmed in the registry (the
 * proxy serves it; it says nothing over ZDS when its retry succeeds). Of several listeners of one
 * family (two proxies during a rolling update, both bound with SO_REUSEPORT) the one of the proxy
 * that last acknowledged the pod is taken (its pid: ZdsPod.proxyPid), else the one taken already:
 * the old proxy's socket, kept open by this agent's duplicate after the old proxy left, would stay
 * in the reuseport group and take connections nobody serves.
 */
import { closeSync } from 'node:fs';
import { EventEmitter } from 'node:events';
import { ConfigError, issuesFromZod } from '@bpfsteer/agent-kernel';
import { socketInfo } from '@bpfsteer/core-bpf';
import { backoffDelay } from '../xds/backoff.js';
import type { XdsLogger } from '../xds/delta-ads-client.js';
import { type HboneListenersOptions, type HboneListenersOptionsInput, hboneListenersOptionsSchema } from './hbone-listeners-options.js';
import { type DiscoveredListener, type DiscoveryResult, discoverListeners } from './listener-discovery.js';
import { ListenerRegistrationServer } from './listener-registration.js';
import { readPodAddresses } from './pod-addresses.js';
import { socketsHeldElsewhere } from './socket-holders.js';
import type { PodRegistry, PodRemovalReason, ZdsPod } from './pod-registry.js';

export interface PodListener {
  /** this process's fd of the listening socket (owned by HboneListeners) */
  readonly fd: number;
  readonly family: 4 | 6;
  readonly address: string;
  readonly port: number;
  /** IPv6 only: false = dual-stack */
  readonly v6Only?: boolean;
  readonly inode: bigint;
  readonly via: 'registration' | 'discovery';
}

export interface PodNetwork {
  readonly uid: string;
  readonly name: string;
  readonly namespace: string;
  readonly serviceAccount: string;
  /** `/proc/self/fd/N` of the pod's netns (valid while the pod is listed) */
  readonly netnsPath: string;
  readonly netnsInode: bigint;
  /** the pod's IPs (no loopback / link-local) */
  readonly addresses: readonly string[];
  /** the proxy acknowledged the pod */
  readonly confirmed: boolean;
  /** the proxy refused the pod and has not served it since (looked at every pendingRetryMs) */
  readonly pending: boolean;
  /** HBONE listeners known, at most one per family */
  readonly listeners: readonly PodListener[];
  /**
   * listeners of this pod were let go because only this agent still held them (the proxy is gone),
   * and none was found since: the pod has no listener (as opposed to: not found yet)
   */
  readonly listenersLost: boolean;
}

export interface HboneListenersEvents {
  change: [readonly PodNetwork[]];
}

export interface HboneListenersDeps {
  readonly logger?: XdsLogger;
  readonly random?: () => number;
  /** replaceable for tests */
  readonly discover?: (netnsPath: string, port: number) => DiscoveryResult;
  readonly readAddresses?: (netnsPath: string) => string[];
  /** the socket inodes another process holds (default: a scan of /proc) */
  readonly heldElsewhere?: (inodes: ReadonlySet<bigint>) => ReadonlySet<bigint>;
}

interface Entry {
  pod: ZdsPod;
  addresses: string[];
  listeners: PodListener[];
  lost: boolean;
  attempt: number;
  timer?: NodeJS.Timeout;
}

const silentLogger: XdsLogger = { debug() {}, info() {}, warn() {}, error() {} };

/**
 * Of the listeners found, the one to hold per family: the one of the proxy `proxyPid` (the proxy
 * that last acknowledged the pod), else the one held already, else the first found.
 */
function chooseListeners(found: readonly DiscoveredListener[], held: readonly PodListener[], proxyPid: number | undefined): Set<DiscoveredListener> {
  const rank = (x: DiscoveredListener): number => (x.ownerPid === proxyPid ? 2 : held.some((h) => h.inode === x.inode) ? 1 : 0);
  const chosen = new Map<number, DiscoveredListener>();
  for (const l of found) {
    const best = chosen.get(l.family);
    if (best === undefined || rank(l) > rank(best)) chosen.set(l.family, l);
  }
  return new Set(chosen.values());
}

function closeQuietly(fd: number): void {
  try {
    closeSync(fd);
  } catch {
    // already closed
  }
}

export class HboneListeners extends EventEmitter<HboneListenersEvents> {
  readonly options: HboneListenersOptions;
  readonly #registry: PodRegistry;
  readonly #logger: XdsLogger;
  readonly #random: () => number;
  readonly #discover: (netnsPath: string, port: number) => DiscoveryResult;
  readonly #readAddresses: (netnsPath: string) => string[];
  readonly #heldElsewhere: (inodes: ReadonlySet<bigint>) => ReadonlySet<bigint>;
  readonly #entries = new Map<string, Entry>();
  #registration: ListenerRegistrationServer | undefined;
  #started = false;
  #changePending = false;
  readonly #onAdded = (pod: ZdsPod) => this.#added(pod);
  readonly #onConfirmed = (pod: ZdsPod) => this.#confirmed(pod);
  readonly #onPending = (pod: ZdsPod) => this.#pending(pod);
  readonly #onRemoved = (pod: ZdsPod, reason: PodRemovalReason) => this.#removed(pod, reason);
  readonly #onSnapshotEnded = () => this.#rediscoverLost();

  /** Throws a ConfigError naming every problem of `options`. */
  constructor(registry: PodRegistry, options: HboneListenersOptionsInput = {}, deps: HboneListenersDeps = {}) {
    super();
    const parsed = hboneListenersOptionsSchema.safeParse(options);
    if (!parsed.success) throw new ConfigError(issuesFromZod(parsed.error, { input: options, schema: hboneListenersOptionsSchema }));
    this.options = parsed.data;
    this.#registry = registry;
    this.#logger = deps.logger ?? silentLogger;
    this.#random = deps.random ?? Math.random;
    this.#discover = deps.discover ?? discoverListeners;
    this.#readAddresses = deps.readAddresses ?? readPodAddresses;
    this.#heldElsewhere = deps.heldElsewhere ?? ((inodes) => socketsHeldElsewhere(inodes));
  }

  /** Follow the registry (pods already in it included) and open the registration socket, if any. */
  start(): void {
    if (this.#started) return;
    this.#started = true;
    const reg = this.options.registration;
    if (reg) {
      this.#registration = ListenerRegistrationServer.listen(reg, (uid, fd) => this.register(uid, fd), this.#logger);
    }
    this.#registry.on('added', this.#onAdded);
    this.#registry.on('confirmed', this.#onConfirmed);
    this.#registry.on('pending', this.#onPending);
    this.#registry.on('removed', this.#onRemoved);
    this.#registry.on('snapshot-ended', this.#onSnapshotEnded);
    for (const pod of this.#registry.list()) {
      this.#added(pod);
      if (pod.confirmed) this.#confirmed(pod);
      else if (pod.pending) this.#pending(pod);
    }
  }

  /** Stop following, close the registration socket and every listener fd. */
  stop(): void {
    if (!this.#started) return;
    this.#started = false;
    this.#registry.off('added', this.#onAdded);
    this.#registry.off('confirmed', this.#onConfirmed);
    this.#registry.off('pending', this.#onPending);
    this.#registry.off('removed', this.#onRemoved);
    this.#registry.off('snapshot-ended', this.#onSnapshotEnded);
    this.#registration?.close();
    this.#registration = undefined;
    for (const entry of this.#entries.values()) this.#drop(entry);
    this.#entries.clear();
  }

  /** Every pod known, with what is known of its network. */
  list(): PodNetwork[] {
    return [...this.#entries.values()].map((e) => this.#view(e));
  }

  get(uid: string): PodNetwork | undefined {
    const e = this.#entries.get(uid);
    return e ? this.#view(e) : undefined;
  }

  /**
   * A cooperating proxy's listener for pod `uid`: checked (a listening TCP socket inside the pod's
   * netns) and kept (ownership of `fd` passes here on success). Returns an error text to refuse.
   */
  register(uid: string, fd: number): string | undefined {
    const entry = this.#entries.get(uid);
    if (!entry) return `unknown pod uid ${JSON.stringify(uid)} (not (yet) added over ZDS)`;
    let info;
    try {
      info = socketInfo(fd);
    } catch (err) {
      return `the fd is not a socket: ${err instanceof Error ? err.message : String(err)}`;
    }
    if ((info.family !== 'inet' && info.family !== 'inet6') || info.protocol !== 6 || !info.listening || !info.local) {
      return `the fd is not a listening TCP socket (${info.family} ${info.type}, listening ${info.listening})`;
    }
    if (info.netnsInode !== entry.pod.netnsInode) return `the listener is not in the network namespace of pod ${uid}`;
    const listener: PodListener = {
      fd,
      family: info.family === 'inet' ? 4 : 6,
      address: info.local.address,
      port: info.local.port,
      ...(info.v6Only !== undefined ? { v6Only: info.v6Only } : {}),
      inode: info.inode,
      via: 'registration',
    };
    clearTimeout(entry.timer);
    entry.timer = undefined;
    this.#setListener(entry, listener);
    this.#logger.info({ uid, family: listener.family, port: listener.port }, 'HBONE listener registered');
    this.#changed();
    this.#served(entry);
    return undefined;
  }

  /** Look for pod `uid`'s listener again now (e.g. after the proxy restarted). */
  rediscover(uid: string): void {
    const entry = this.#entries.get(uid);
    if (!entry || !this.options.discovery) return;
    clearTimeout(entry.timer);
    entry.attempt = 0;
    this.#attemptDiscovery(entry);
  }

  /**
   * Lets go of every listener that no other process holds any more (its proxy exited: only this
   * agent's duplicates keep it open, and connections to it would hang). Their pods are marked
   * `listenersLost` until a listener is found again. Returns how many were let go.
   */
  releaseOrphans(): number {
    const inodes = new Set<bigint>();
    for (const e of this.#entries.values()) for (const l of e.listeners) inodes.add(l.inode);
    if (inodes.size === 0) return 0;
    let held: ReadonlySet<bigint>;
    try {
      held = this.#heldElsewhere(inodes);
    } catch (err) {
      this.#logger.warn({ error: err instanceof Error ? err.message : String(err) }, 'cannot tell which HBONE listeners the proxy still holds; keeping them');
      return 0;
    }
    let released = 0;
    for (const e of this.#entries.values()) {
      const orphans = e.listeners.filter((l) => !held.has(l.inode));
      if (orphans.length === 0) continue;
      for (const l of orphans) closeQuietly(l.fd);
      e.listeners = e.listeners.filter((l) => held.has(l.inode));
      e.lost = true;
      released += orphans.length;
      // another proxy (a rolling update's new one) may serve the pod already
      if (this.options.discovery && e.listeners.length === 0 && e.pod.confirmed && e.timer === undefined) {
        e.attempt = 0;
        e.timer = setTimeout(() => this.#attemptDiscovery(e), 0);
      }
      this.#logger.warn(
        { uid: e.pod.uid, listeners: orphans.map((l) => ({ family: l.family, port: l.port, inode: String(l.inode) })) },
        'HBONE listener no longer held by any proxy: let go (its connections take the normal lookup until the proxy is back)',
      );
    }
    if (released > 0) this.#changed();
    return released;
  }

  #view(e: Entry): PodNetwork {
    const { uid, name, namespace, serviceAccount, netnsPath, netnsInode, confirmed, pending } = e.pod;
    return {
      uid,
      name,
      namespace,
      serviceAccount,
      netnsPath,
      netnsInode,
      confirmed,
      pending,
      addresses: [...e.addresses],
      listeners: [...e.listeners],
      listenersLost: e.lost && e.listeners.length === 0,
    };
  }

  /** After a snapshot (a proxy (re)connected): look again for the listeners of pods that lost them. */
  #rediscoverLost(): void {
    if (!this.options.discovery) return;
    for (const e of this.#entries.values()) {
      if (!e.lost || !e.pod.confirmed || e.listeners.length > 0 || e.timer !== undefined) continue;
      e.attempt = 0;
      e.timer = setTimeout(() => this.#attemptDiscovery(e), 0);
    }
  }

  #addresses(pod: ZdsPod): string[] {
    try {
      return this.#readAddresses(pod.netnsPath);
    } catch (err) {
      this.#logger.warn({ uid: pod.uid, error: String(err) }, 'cannot read the addresses of a pod');
      return [];
    }
  }

  #added(pod: ZdsPod): void {
    const old = this.#entries.get(pod.uid);
    if (old) this.#drop(old);
    this.#entries.set(pod.uid, { pod, addresses: this.#addresses(pod), listeners: [], lost: false, attempt: 0 });
    this.#changed();
  }

  #confirmed(pod: ZdsPod): void {
    const entry = this.#entries.get(pod.uid);
    if (!entry) return;
    // a pending pod holding a listener is confirmed because that listener was just found (#served): nothing to look for
    const servedJustNow = entry.pod.pending && entry.listeners.length > 0;
    entry.pod = pod;
    entry.addresses = this.#addresses(pod);
    this.#changed();
    if (this.options.discovery && !servedJustNow && !entry.listeners.some((l) => l.via === 'registration')) {
      clearTimeout(entry.timer);
      entry.attempt = 0;
      entry.timer = setTimeout(() => this.#attemptDiscovery(entry), 0);
    }
  }

  /** The proxy refused the pod: look for its listener every pendingRetryMs until it is there. */
  #pending(pod: ZdsPod): void {
    const entry = this.#entries.get(pod.uid);
    if (!entry) return;
    entry.pod = pod;
    this.#changed();
    if (!this.options.discovery) return;
    clearTimeout(entry.timer);
    entry.timer = setTimeout(() => this.#attemptDiscovery(entry), this.options.pendingRetryMs);
  }

  /** A listener of a pending pod is there: the proxy (`ownerPid`, when known) serves it now. */
  #served(entry: Entry, ownerPid?: number): void {
    const pod = entry.pod;
    if (!pod.pending || entry.listeners.length === 0) return;
    this.#logger.info({ uid: pod.uid, ownerPid }, 'the proxy serves a pod it had refused (its listener is there): confirmed');
    this.#registry.confirm(pod.uid, pod.netnsInode, ownerPid);
  }

  #removed(pod: ZdsPod, reason: PodRemovalReason): void {
    const entry = this.#entries.get(pod.uid);
    if (!entry || entry.pod.netnsFd !== pod.netnsFd) return;
    this.#drop(entry);
    this.#entries.delete(pod.uid);
    this.#logger.info({ uid: pod.uid, reason }, 'pod gone: its listener fds closed');
    this.#changed();
  }

  #attemptDiscovery(entry: Entry): void {
    entry.timer = undefined;
    if (this.#entries.get(entry.pod.uid) !== entry) return;
    let result: DiscoveryResult;
    try {
      result = this.#discover(entry.pod.netnsPath, this.options.hbonePort);
    } catch (err) {
      result = { listeners: [], problems: [err instanceof Error ? err.message : String(err)] };
    }
    if (this.#entries.get(entry.pod.uid) !== entry) {
      for (const l of result.listeners) closeSync(l.fd);
      return;
    }
    entry.addresses = this.#addresses(entry.pod);
    let changed = false;
    const chosen = chooseListeners(result.listeners, entry.listeners, entry.pod.proxyPid);
    for (const found of result.listeners) {
      const current = entry.listeners.find((l) => l.family === found.family);
      if (current?.via === 'registration' || current?.inode === found.inode || !chosen.has(found)) {
        closeSync(found.fd);
        continue;
      }
      const { ownerPid: _pid, ...rest } = found;
      this.#setListener(entry, { ...rest, via: 'discovery' });
      changed = true;
      this.#logger.info({ uid: entry.pod.uid, family: found.family, port: found.port, ownerPid: found.ownerPid }, 'HBONE listener discovered');
    }
    if (changed) this.#changed();
    if (entry.listeners.length > 0) return this.#served(entry, result.listeners.find((l) => chosen.has(l))?.ownerPid);
    if (entry.pod.pending) {
      this.#logger.debug({ uid: entry.pod.uid, retryInMs: this.options.pendingRetryMs, problems: result.problems }, 'a pod the proxy refused: no HBONE listener yet');
      entry.timer = setTimeout(() => this.#attemptDiscovery(entry), this.options.pendingRetryMs);
      return;
    }
    entry.attempt += 1;
    if (entry.attempt >= this.options.retry.attempts) {
      this.#logger.warn({ uid: entry.pod.uid, attempts: entry.attempt, problems: result.problems }, 'no HBONE listener found in the pod; giving up until the pod is confirmed again');
      return;
    }
    const delay = backoffDelay(entry.attempt - 1, this.options.retry, this.#random);
    this.#logger.debug({ uid: entry.pod.uid, attempt: entry.attempt, retryInMs: delay, problems: result.problems }, 'no HBONE listener yet');
    entry.timer = setTimeout(() => this.#attemptDiscovery(entry), delay);
  }

  #setListener(entry: Entry, listener: PodListener): void {
    entry.lost = false;
    const i = entry.listeners.findIndex((l) => l.family === listener.family);
    if (i >= 0) {
      const old = entry.listeners[i];
      if (old.fd !== listener.fd) closeSync(old.fd);
      entry.listeners[i] = listener;
    } else {
      entry.listeners.push(listener);
    }
    entry.listeners.sort((a, b) => a.family - b.family);
  }

  #drop(entry: Entry): void {
    clearTimeout(entry.timer);
    entry.timer = undefined;
    for (const l of entry.listeners.splice(0)) closeQuietly(l.fd);
  }

  #changed(): void {
    if (this.#changePending) return;
    this.#changePending = true;
    setImmediate(() => {
      this.#changePending = false;
      if (this.#started) this.emit('change', this.list());
    });
  }
}

