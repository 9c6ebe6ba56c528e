/** Fake plugins and sources for the unit tests: they record every call in a shared journal. */
import { z, type ZodType } from 'zod';
import type {
  ApplyReport,
  CloseOptions,
  CommitResult,
  DataplanePlugin,
  DesiredChanges,
  DesiredState,
  Intent,
  IntentSink,
  IntentSource,
  KernelFeature,
  MetricFamily,
  PluginContext,
  PluginFactory,
  SourceContext,
  SourceFactory,
} from '../src/contracts.js';
import type { Agent } from '../src/agent.js';
import { createAgent } from '../src/create-agent.js';
import { createLogger } from '../src/create-logger.js';

export type Step = 'open' | 'load' | 'seed' | 'attach' | 'apply' | 'close';

export interface FakePluginOptions {
  intents?: Record<string, ZodType>;
  requires?: KernelFeature[];
  dependsOn?: string[];
  provides?: PluginFactory['provides'];
  needs?: PluginFactory['needs'];
  /** steps that never resolve */
  hang?: Step[];
  /** steps that throw */
  fail?: Step[];
  /** steps that take this long (ms) */
  slow?: Partial<Record<Step, number>>;
  applyDelayMs?: number;
  configSchema?: ZodType;
  /** apply throws what this returns (and changes nothing) */
  rejectApply?: (desired: DesiredState) => Error | undefined;
}

export class FakePlugin implements DataplanePlugin {
  readonly applied: DesiredState[] = [];
  /** the `changes` argument of every apply */
  readonly changes: (DesiredChanges | undefined)[] = [];
  closedWith?: CloseOptions;
  running = 0;
  maxConcurrentApplies = 0;
  constructor(
    readonly id: string,
    readonly opts: FakePluginOptions,
    readonly journal: string[],
    readonly context: PluginContext,
    readonly config: unknown,
  ) {}

  async #step(step: Step): Promise<void> {
    this.journal.push(`${this.id}:${step}`);
    if (this.opts.hang?.includes(step)) await new Promise(() => undefined);
    const slow = this.opts.slow?.[step];
    if (slow) await new Promise((r) => setTimeout(r, slow));
    if (this.opts.fail?.includes(step)) throw new Error(`${step} exploded`);
  }
  open(): Promise<void> {
    return this.#step('open');
  }
  load(): Promise<void> {
    return this.#step('load');
  }
  seed(): Promise<void> {
    return this.#step('seed');
  }
  attach(): Promise<void> {
    return this.#step('attach');
  }
  async apply(desired: DesiredState, changes?: DesiredChanges): Promise<ApplyReport> {
    this.changes.push(changes);
    this.running++;
    this.maxConcurrentApplies = Math.max(this.maxConcurrentApplies, this.running);
    try {
      if (this.opts.applyDelayMs) await new Promise((r) => setTimeout(r, this.opts.applyDelayMs));
      await this.#step('apply');
      const refusal = this.opts.rejectApply?.(desired);
      if (refusal) throw refusal;
      this.applied.push(desired);
      return { added: [...desired.values()].flat().length, updated: 0, removed: 0 };
    } finally {
      this.running--;
    }
  }
  readonly listeners = new Map<string, Set<(event: unknown) => void>>();
  async describe(kind: string): Promise<unknown> {
    return { kind, intents: this.applied.at(-1)?.get(kind) ?? [] };
  }
  watch(topic: string, listener: (event: unknown) => void): () => void {
    let set = this.listeners.get(topic);
    if (!set) this.listeners.set(topic, (set = new Set()));
    set.add(listener);
    return () => set.delete(listener);
  }
  emitEvent(topic: string, event: unknown): void {
    for (const l of this.listeners.get(topic) ?? []) l(event);
  }
  status() {
    return {
      attachments: [{ target: 'eth0 egress', type: 'tcx-egress' }],
      maps: [{ name: `${this.id}_rules`, entries: this.applied.at(-1) ? [...this.applied.at(-1)!.values()].flat().length : 0, maxEntries: 1024 }],
      details: { fake: true },
    };
  }
  metrics(): MetricFamily[] {
    return [{ name: `fake_${this.id}_applies_total`, help: 'applies of the fake plugin', type: 'counter', values: [{ value: this.applied.length }] }];
  }
  async close(options: CloseOptions): Promise<void> {
    this.closedWith = options;
    this.journal.push(`${this.id}:close(${options.keepPinned ? 'keep' : 'unpin'})`);
    if (this.opts.hang?.includes('close')) await new Promise(() => undefined);
  }
}

export type FakePluginFactory = PluginFactory<unknown> & { instances: FakePlugin[] };

export function fakePlugin(id: string, journal: string[], opts: FakePluginOptions = {}): FakePluginFactory {
  const instances: FakePlugin[] = [];
  return {
    id,
    description: `fake ${id}`,
    configSchema: opts.configSchema ?? z.looseObject({}),
    intents: opts.intents ?? {},
    requires: opts.requires ?? [],
    dependsOn: opts.dependsOn,
    ...(opts.provides && { provides: opts.provides }),
    ...(opts.needs && { needs: opts.needs }),
    instances,
    create(config, context) {
      journal.push(`${id}:create`);
      const p = new FakePlugin(id, opts, journal, context, config);
      instances.push(p);
      return p;
    },
  };
}

export class FakeSource implements IntentSource {
  sink?: IntentSink;
  listen?: (sink: IntentSink) => Promise<void>;
  /** what the commit of `commitAtStart` returned */
  startCommit?: CommitResult;
  constructor(
    readonly name: string,
    readonly journal: string[],
    readonly context: SourceContext,
    readonly initial: Intent[] | undefined,
    readonly failStart: boolean,
    readonly commitAtStart?: Intent[],
  ) {}
  async start(sink: IntentSink): Promise<void> {
    this.journal.push(`${this.name}:start`);
    if (this.failStart) throw new Error('cannot reach the control plane');
    this.sink = sink;
    if (this.initial) sink.publish(this.initial);
    if (this.commitAtStart) this.startCommit = await sink.commit(this.commitAtStart);
  }
  emit(intents: Intent[]): void {
    this.sink!.publish(intents);
  }
  async stop(): Promise<void> {
    this.journal.push(`${this.name}:stop`);
  }
}

export type FakeSourceFactory = SourceFactory<{ name: string; initial?: Intent[]; failStart?: boolean; commitAtStart?: Intent[]; listens?: boolean }> & {
  instances: FakeSource[];
};

/** Source type "fake"; config `{ name, initial?: intents published at start, failStart? }`. */
export function fakeSource(journal: string[], produces?: string[], type = 'fake'): FakeSourceFactory {
  const instances: FakeSource[] = [];
  return {
    type,
    ...(produces && { produces }),
    description: 'fake source',
    configSchema: z.strictObject({
      name: z.string(),
      initial: z.array(z.looseObject({ kind: z.string() })).optional(),
      failStart: z.boolean().optional(),
      commitAtStart: z.array(z.looseObject({ kind: z.string() })).optional(),
      /** the source has a listen step (journaled) */
      listens: z.boolean().optional(),
    }),
    instances,
    create(config, context) {
      const s = new FakeSource(
        config.name,
        journal,
        context,
        config.initial as Intent[] | undefined,
        config.failStart ?? false,
        config.commitAtStart as Intent[] | undefined,
      );
      if (config.listens) s.listen = async () => void journal.push(`${config.name}:listen`);
      instances.push(s);
      return s;
    },
  };
}

/** A logger that keeps its JSON records. */
export function captureLogger(): { logger: ReturnType<typeof createLogger>; records: Record<string, unknown>[] } {
  const records: Record<string, unknown>[] = [];
  const logger = createLogger({
    level: 'debug',
    destination: { write: (line: string) => records.push(JSON.parse(line) as Record<string, unknown>) },
  });
  return { logger, records };
}

export const cidr = z.string().refine(
  (s) => {
    const m = /^(\d{1,3})\.(\d{1,3})\.(\d{1,3})\.(\d{1,3})\/(\d{1,2})$/.exec(s);
    return !!m && m.slice(1, 5).every((o) => Number(o) <= 255) && Number(m[5]) <= 32;
  },
  { error: (iss) => `${JSON.stringify(iss.input)} is not a valid CIDR` },
);

export const redirectIntent = z.strictObject({ source: cidr, via: z.string(), ifname: z.string().optional() });

/**
 * An agent of one fake plugin "pa" consuming `a.kind` and fake sources of the given configs (not
 * started): its plugin and sources once created, and its journal.
 */
export function onePluginAgent(
  opts: FakePluginOptions,
  sources: readonly { name: string; initial?: Intent[]; listens?: boolean }[],
): { agent: Agent; journal: string[]; plugin: () => FakePlugin; source: (i: number) => FakeSource | undefined } {
  const journal: string[] = [];
  const plugin = fakePlugin('pa', journal, { intents: { 'a.kind': z.looseObject({ v: z.number() }) }, ...opts });
  const src = fakeSource(journal);
  const agent = createAgent({
    plugins: [plugin],
    sources: [src],
    logger: captureLogger().logger,
    config: {
      agent: { adminSocket: false, pinRoot: '/sys/fs/bpf/test-root', timeouts: { openMs: 2000, applyMs: 5000, closeMs: 2000 } },
      plugins: [{ id: 'pa' }],
      sources: sources.map((s) => ({ type: 'fake', ...s })),
    },
  });
  return { agent, journal, plugin: () => plugin.instances[0]!, source: (i) => src.instances[i] };
}
