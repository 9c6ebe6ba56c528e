/** A fake agent kernel for the unit tests: a commit spy and scripted describe/watch. */
import { vi } from 'vitest';
import type { CommitResult, Intent } from '@bpfsteer/agent-kernel';
import { createApi } from '../src/api/create-api.js';
import { emptyState, type ZitiState } from '../src/rule-store.js';
import { ZitiService, type ServiceLogger } from '../src/ziti-service.js';

export interface FakeKernel {
  readonly commit: ReturnType<typeof vi.fn<(intents: readonly Intent[]) => Promise<CommitResult>>>;
  /** the intents of every commit, in order */
  readonly commits: (readonly Intent[])[];
  /** what the next commits answer (default ok) */
  result: CommitResult;
  described: Map<string, unknown>;
  readonly listeners: Set<(event: unknown) => void>;
  readonly context: { describe(kind: string): Promise<unknown>; watch(topic: string, l: (e: unknown) => void): () => void };
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
    listeners,
    commit: vi.fn(async (intents: readonly Intent[]) => {
      commits.push(intents);
      return kernel.result;
    }),
    context: {
      describe: async (kind) => kernel.described.get(kind),
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
