/**
 * Answers to the node agent in the order its requests came (pure). A request is either answered by
 * the agent itself at once (a malformed one) or forwarded to the proxy and answered when the
 * proxy's Ack arrives; the proxy answers forwarded requests in order, so Acks fill the oldest
 * forwarded slot. Replies leave only from the front, so a local answer never overtakes the answer to
 * an earlier forwarded request.
 */
interface Slot<C, R> {
  readonly context?: C;
  reply?: R;
}

export class ReplyQueue<C, R> {
  readonly #slots: Slot<C, R>[] = [];

  /** A request answered right away with `reply`. */
  local(reply: R): void {
    this.#slots.push({ reply });
  }

  /** A request forwarded to the proxy; `context` comes back with its answer. */
  forwarded(context: C): void {
    this.#slots.push({ context });
  }

  /** Number of forwarded requests still waiting for the proxy. */
  get waiting(): number {
    return this.#slots.filter((s) => s.reply === undefined).length;
  }

  /**
   * The proxy answered: `make` turns the oldest waiting request's context into the reply. Returns
   * that context, or undefined when nothing was waiting (an unsolicited answer).
   */
  answer(make: (context: C) => R): C | undefined {
    const slot = this.#slots.find((s) => s.reply === undefined);
    if (!slot) return undefined;
    slot.reply = make(slot.context as C);
    return slot.context;
  }

  /** The replies that may be sent now, in order (removed from the queue). */
  ready(): R[] {
    const out: R[] = [];
    while (this.#slots.length > 0 && this.#slots[0].reply !== undefined) out.push(this.#slots.shift()!.reply as R);
    return out;
  }

  /** Empties the queue; returns the contexts of requests that never got an answer. */
  abandon(): C[] {
    const left = this.#slots.filter((s) => s.reply === undefined).map((s) => s.context as C);
    this.#slots.length = 0;
    return left;
  }
}
