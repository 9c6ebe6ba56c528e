/**
 * A fake agent kernel for the unit tests: a commit spy and scripted describe/watch. The service
 * commits changes by key (`commitChange`); the fake keeps the source's intents like the agent does
 * and hands the spy the whole resulting list (rules, then interfaces), so tests see each state.
 */
import { vi } from 'vitest';
import type { CommitResult, Intent, IntentChange, SourceContext } from '@bpfsteer/agent-kernel';
import { createApi } from '../src/api/create-api.js';
import { emptyState, type ZitiState } from '../src/rule-store.js';
import { ZitiService, type ServiceLogger } from '../src/ziti-service.js';

export interface FakeKernel {
  readonly commit: ReturnType<typeof vi.fn<(intents: readonly Intent[]) => Promise<CommitResult>>>;
  /** what the service calls: applies the change to the intents held, then the commit spy */
  readonly commitChange: (change: IntentChange) => Promise<CommitResult>;
  /** the source's intents by key, as committed */
  held: Map<string, Intent>;
  /** the intents of every commit, in order */
  readonly commits: (readonly Intent[])[];
  /** what the next commits answer (default ok) */
  result: CommitResult;
  described: Map<string, unknown>;
  /** kinds a running plugin consumes (SourceContext.consumers) */
  running: Set<string>;
  readonly listeners: Set<(event: unknown) => void>;
  readonly context: Pick<SourceContext, 'describe' | 'watch' | 'consumers' | 'problem'>;
  emit(event: unknown): void;
}

export const ok: CommitResult = { ok: true, report: { added: 1, updated: 0, removed: 0 } };

export function fakeKernel(): FakeKernel {
  const commits: (readonly Intent[])[] = [];
  const listeners = new Set<(event: unknown) => void>();
  const kernel: FakeKernel = {
    commits,
    result: ok,
    described: new Map(),
    running: new Set(),
    listeners,
    commit: vi.fn(async (intents: readonly Intent[]) => {
      commits.push(intents);
      return kernel.result;
    }),
    held: new Map(),
    commitChange: async (change) => {
      const next = new Map(change.reset ? [] : kernel.held);
      for (const key of change.remove ?? []) {
        if (!next.delete(key)) return { ok: false, reason: 'invalid', error: `remove: no intent has key ${JSON.stringify(key)}` };
      }
      for (const [key, intent] of change.upsert ?? []) next.set(key, intent);
      const all = [...next.values()];
      const result = await kernel.commit([...all.filter((i) => i.kind === 'tproxy.rule'), ...all.filter((i) => i.kind !== 'tproxy.rule')]);
      if (result.ok) kernel.held = next;
      return result;
    },
    context: {
      describe: async (kind) => kernel.described.get(kind),
      problem: () => undefined,
      consumers: (kind) => (kernel.running.has(kind) ? [{ plugin: 'tc-tproxy', state: 'running' }] : []),
      watch: (topic, listener) => {
        if (topic !== 'tproxy.event') return () => undefined;
        listeners.add(listener);
        return () => listeners.delete(listener);
      },
    },
    emit: (event) => {
      for (const l of listeners) l(event);
    },
  };
  return kernel;
}

export const quietLogger: ServiceLogger = { warn: () => undefined, error: () => undefined };

export interface Harness {
  kernel: FakeKernel;
  service: ZitiService;
  persisted: ZitiState[];
  app: Awaited<ReturnType<typeof createApi>>;
}

export interface HarnessOptions {
  initial?: ZitiState;
  allowedInterfaces?: string[];
  token?: string;
  bodyLimit?: number;
  persist?: (state: ZitiState) => Promise<void>;
}

export async function harness(options: HarnessOptions = {}): Promise<Harness> {
  const kernel = fakeKernel();
  const persisted: ZitiState[] = [];
  const service = new ZitiService({
    sink: kernel,
    context: kernel.context,
    logger: quietLogger,
    initial: options.initial ?? emptyState,
    persist: options.persist ?? (async (s) => void persisted.push(s)),
    allowedInterfaces: options.allowedInterfaces,
  });
  const app = await createApi({ service, token: options.token, ...(options.bodyLimit !== undefined && { limits: { maxBodyBytes: options.bodyLimit } }) });
  await app.ready();
  return { kernel, service, persisted, app };
}
