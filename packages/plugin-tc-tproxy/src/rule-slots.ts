/**
 * The tctp_rules slots as the planner tracks them, by rule id: three typed arrays (action, tproxy
 * port, identity hash) instead of an object and a bigint per rule. Action 0 is an empty slot, as
 * in the map.
 */
import { InvalidArgumentError } from '@bpfsteer/core-bpf';

export interface RuleSlot {
  readonly action: number;
  readonly tproxyPort: number;
  readonly identity: bigint;
}

export class RuleSlots {
  readonly #action: Uint8Array;
  readonly #port: Uint16Array;
  readonly #identity: BigUint64Array;
  #count = 0;

  /** slots for the rule ids 0..maxRules (0 is never used) */
  constructor(maxRules: number) {
    this.#action = new Uint8Array(maxRules + 1);
    this.#port = new Uint16Array(maxRules + 1);
    this.#identity = new BigUint64Array(maxRules + 1);
  }

  /** maxRules + 1 */
  get length(): number {
    return this.#action.length;
  }

  /** non-empty slots */
  get count(): number {
    return this.#count;
  }

  has(id: number): boolean {
    const action = this.#action[id];
    return action !== undefined && action !== 0;
  }

  /** the slot of `id` (a new object), undefined when empty */
  get(id: number): RuleSlot | undefined {
    if (!this.has(id)) return undefined;
    const action = this.#action[id];
    return { action, tproxyPort: this.#port[id], identity: this.#identity[id] };
  }

  set(id: number, slot: RuleSlot): void {
    this.assign(id, slot.action, slot.tproxyPort, slot.identity);
  }

  /** set, from the slot's fields (no object per slot) */
  assign(id: number, action: number, tproxyPort: number, identity: bigint): void {
    if (!Number.isInteger(id) || id < 1 || id >= this.length) throw new InvalidArgumentError(`rule id ${id} is outside 1..${this.length - 1}`);
    if (action < 1 || action > 0xff) throw new InvalidArgumentError(`rule slot action ${action} is not a non-zero u8`);
    if (this.#action[id] === 0) this.#count++;
    this.#action[id] = action;
    this.#port[id] = tproxyPort;
    this.#identity[id] = identity;
  }

  delete(id: number): void {
    if (!this.has(id)) return;
    this.#count--;
    this.#action[id] = 0;
    this.#port[id] = 0;
    this.#identity[id] = 0n;
  }
}
