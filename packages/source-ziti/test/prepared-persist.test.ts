// ZitiService makes what it persists while the agent applies a commit (IdleWork), not after it.
import { describe, expect, it } from 'vitest';
import type { CommitResult, IntentChange } from '@bpfsteer/agent-kernel';
import type { Rule } from '../src/rule.js';
import { emptyState, type ZitiState } from '../src/rule-store.js';
import type { PreparedSave } from '../src/state-file.js';
import { ZitiService } from '../src/ziti-service.js';
import { fakeKernel, ok, quietLogger } from './fake-kernel.js';

const sleep = (ms: number) => new Promise((resolve) => setTimeout(resolve, ms));
const rule = (n: number): Rule => ({ destination: `10.9.${n}.0/24`, source: '0.0.0.0/0', protocol: 'tcp', ports: { low: 443, high: 443 }, action: 'divert', tproxyPort: 15000, interfaces: [] });

/**
 * A service whose commits wait idle (a plugin thread applying): until the record is being made
 * (`untilPrepared`: at most 10 s, so a loaded machine's late timers cannot fail it), else `applyMs`.
 * Records the persist calls.
 */
function service(apply: { applyMs: number } | 'untilPrepared', result: CommitResult = ok) {
  const kernel = fakeKernel();
  kernel.result = result;
  const events: string[] = [];
  const saved: { state: ZitiState; prepared: PreparedSave | undefined }[] = [];
  let prepared: () => void = () => undefined;
  const preparing = new Promise<void>((resolve) => (prepared = resolve));
  const svc = new ZitiService({
    sink: {
      commitChange: async (change: IntentChange) => {
        events.push('commit');
        await (apply === 'untilPrepared' ? Promise.race([preparing, sleep(10_000)]) : sleep(apply.applyMs));
        events.push('applied');
        return kernel.commitChange(change);
      },
    },
    context: kernel.context,
    logger: quietLogger,
    initial: emptyState,
    preparePersist: async (state) => {
      events.push('prepare');
      prepared();
      return { from: emptyState, to: state, record: { pieces: ['made early'] } };
    },
    persist: async (state, prepared) => {
      events.push('persist');
      saved.push({ state, prepared });
    },
  });
  return { svc, events, saved };
}

describe('the record a commit persists is made while the agent applies it', () => {
  it('begins once this thread waits for the apply, and is handed to persist', async () => {
    const { svc, events, saved } = service('untilPrepared');
    await svc.batch([{ op: 'insert', rule: rule(1) }, { op: 'insert', rule: rule(2) }]);
    expect(events).toEqual(['commit', 'prepare', 'applied', 'persist']);
    expect(saved).toHaveLength(1);
    expect(saved[0]!.prepared?.to).toBe(saved[0]!.state);
    expect(saved[0]!.prepared?.record?.pieces).toEqual(['made early']);
  });

  it('a commit answered before the thread idled persists without it (persist makes the record)', async () => {
    const { svc, events, saved } = service({ applyMs: 0 });
    await svc.insert(rule(1));
    expect(events).toEqual(['commit', 'applied', 'persist']);
    expect(saved[0]!.prepared).toBeUndefined();
    await sleep(30);
    expect(events).not.toContain('prepare'); // never begun later either
  });

  it('a refused commit persists nothing', async () => {
    const { svc, events, saved } = service('untilPrepared', { ok: false, reason: 'invalid', error: 'no' });
    await expect(svc.insert(rule(1))).rejects.toMatchObject({ code: expect.any(String) });
    await sleep(20);
    expect(saved).toHaveLength(0);
    expect(events).toEqual(['commit', 'prepare', 'applied']);
  });
});
