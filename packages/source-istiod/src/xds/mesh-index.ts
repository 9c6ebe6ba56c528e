/**
 * The mesh view (see mesh-view.ts) kept up to date one resource at a time: `update` looks only at
 * the resources that changed since the state it saw last (named by the xDS change, or found by
 * comparing entries, which a persistent state shares between versions) and reports which member
 * addresses appeared or went and whether the local workloads changed. What it holds always equals
 * `meshView(state, nodeName)` of the last state given (up to order).
 */
import type { AddressEntry, AddressState } from './address-state.js';
import type { LocalWorkload, MeshView } from './mesh-view.js';

/** What one update changed. */
export interface MeshIndexDelta {
  /** addresses that became mesh members */
  readonly added: readonly string[];
  /** addresses that are no longer mesh members */
  readonly removed: readonly string[];
  /** a local workload appeared, went or changed */
  readonly localChanged: boolean;
}

/** The resources that changed from `previous` to the state given with it (an xDS change). */
export interface StateChange {
  readonly previous: AddressState;
  readonly upserted: readonly string[];
  readonly removed: readonly string[];
}

const none: readonly string[] = [];

function sameList(a: readonly string[], b: readonly string[]): boolean {
  return a === b || (a.length === b.length && a.every((x, i) => x === b[i]));
}

function sameLocal(a: LocalWorkload, b: LocalWorkload): boolean {
  return a.uid === b.uid && a.name === b.name && a.namespace === b.namespace && sameList(a.addresses, b.addresses);
}

const byUid = (a: LocalWorkload, b: LocalWorkload): number => (a.uid < b.uid ? -1 : a.uid > b.uid ? 1 : 0);

/** The member addresses an entry brings: those of an HBONE workload of `network`, off the host network; else none. */
function memberAddresses(entry: AddressEntry | undefined, network: string): readonly string[] {
  if (entry === undefined || entry.kind !== 'workload') return none;
  const w = entry.workload;
  return w.tunnelProtocol === 'HBONE' && w.networkMode !== 'HOST_NETWORK' && w.network === network ? w.addresses : none;
}

export class MeshIndex {
  readonly #nodeName: string | undefined;
  readonly #network: string;
  #state: AddressState | undefined;
  /** the entry taken in last, by resource name */
  readonly #byName = new Map<string, AddressEntry>();
  /** member address -> number of workloads naming it */
  readonly #members = new Map<string, number>();
  /** local workloads by resource name */
  readonly #local = new Map<string, LocalWorkload>();

  /** `nodeName`: this node's name (undefined or empty: no workload is local); `network`: this node's network (empty: the default) */
  constructor(nodeName?: string, network = '') {
    this.#nodeName = nodeName || undefined;
    this.#network = network;
  }

  /** Number of member addresses. */
  get memberCount(): number {
    return this.#members.size;
  }

  /** Number of local workloads. */
  get localCount(): number {
    return this.#local.size;
  }

  /** The member addresses, in the order they became members. */
  members(): IterableIterator<string> {
    return this.#members.keys();
  }

  /** The local workloads, sorted by uid. */
  localWorkloads(): LocalWorkload[] {
    return [...this.#local.values()].sort(byUid);
  }

  /** The same as meshView() of the last state (members sorted). */
  view(): MeshView {
    return { members: [...this.#members.keys()].sort(), localWorkloads: this.localWorkloads() };
  }

  /**
   * Takes `state` in. With `change` (its `previous` being the state this index saw last) only the
   * resources it names are looked at; otherwise every resource is compared with what is held.
   */
  update(state: AddressState, change?: StateChange): MeshIndexDelta {
    // addresses whose membership flipped, with whether they were members before this update
    const flipped = new Map<string, boolean>();
    let localChanged = false;
    const resources = state.resources;
    // the change is trusted when it starts from the state seen last (or from nothing, before any)
    const fromHere = change !== undefined && (change.previous === this.#state || (this.#state === undefined && change.previous.resources.size === 0));
    if (fromHere) {
      for (const name of change.upserted) localChanged = this.#touch(name, resources.get(name), flipped) || localChanged;
      for (const name of change.removed) localChanged = this.#touch(name, resources.get(name), flipped) || localChanged;
    } else if (state !== this.#state) {
      for (const [name, entry] of resources) localChanged = this.#touch(name, entry, flipped) || localChanged;
      for (const name of [...this.#byName.keys()]) if (!resources.has(name)) localChanged = this.#touch(name, undefined, flipped) || localChanged;
    }
    this.#state = state;
    const added: string[] = [];
    const removed: string[] = [];
    for (const [address, was] of flipped) {
      const is = this.#members.has(address);
      if (is && !was) added.push(address);
      else if (!is && was) removed.push(address);
    }
    return { added, removed, localChanged };
  }

  /** Takes in the resource `name` now holding `entry` (undefined: gone); true when a local workload changed. */
  #touch(name: string, entry: AddressEntry | undefined, flipped: Map<string, boolean>): boolean {
    const old = this.#byName.get(name);
    if (old === entry) return false;
    const oldAddresses = memberAddresses(old, this.#network);
    const newAddresses = memberAddresses(entry, this.#network);
    if (!sameList(oldAddresses, newAddresses)) {
      const members = this.#members;
      for (const a of oldAddresses) {
        const n = members.get(a) ?? 0;
        if (n > 1) {
          members.set(a, n - 1);
        } else {
          members.delete(a);
          if (!flipped.has(a)) flipped.set(a, true);
        }
      }
      for (const a of newAddresses) {
        const n = members.get(a);
        if (n === undefined) {
          members.set(a, 1);
          if (!flipped.has(a)) flipped.set(a, false);
        } else {
          members.set(a, n + 1);
        }
      }
    }
    if (entry === undefined) this.#byName.delete(name);
    else this.#byName.set(name, entry);
    // local workloads (few): compared by what their intents carry
    const wasLocal = this.#local.get(name);
    const local = this.#localOf(entry);
    if (wasLocal === undefined && local === undefined) return false;
    if (wasLocal !== undefined && local !== undefined && sameLocal(wasLocal, local)) return false;
    if (local) this.#local.set(name, local);
    else this.#local.delete(name);
    return true;
  }

  /** The local workload an entry is: an HBONE workload off the host network on this node. */
  #localOf(entry: AddressEntry | undefined): LocalWorkload | undefined {
    if (entry === undefined || entry.kind !== 'workload' || this.#nodeName === undefined) return undefined;
    const w = entry.workload;
    if (w.node !== this.#nodeName || w.tunnelProtocol !== 'HBONE' || w.networkMode === 'HOST_NETWORK' || w.network !== this.#network) return undefined;
    return { uid: w.uid, name: w.name, namespace: w.namespace, addresses: [...w.addresses] };
  }
}
