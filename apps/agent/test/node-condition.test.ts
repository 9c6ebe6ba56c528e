/** The pure translations of the Kubernetes reporter: health to Node condition, agent events to Events. */
import type { AgentHealth } from '@bpfsteer/agent-kernel';
import { describe, expect, it } from 'vitest';
import { CONDITION_TYPE, conditionHolds, conditionPatch, wantedCondition } from '../src/kubernetes/node-condition.js';
import { eventFor, eventObject } from '../src/kubernetes/node-events.js';

const healthy: AgentHealth = { ok: true, state: 'running', failedPlugins: [], failedSources: [], problems: [] };
const problem = { source: 'istiod#0', problem: 'IstiodUnreachable', message: 'istiod:15012: stream ended: UNAVAILABLE', since: '2026-12-07T10:00:00.000Z' };

describe('wantedCondition', () => {
  it('is Unknown before the start and after the stop, False when healthy', () => {
    expect(wantedCondition('starting', healthy)).toMatchObject({ status: 'Unknown', reason: 'AgentStarting' });
    expect(wantedCondition('stopped', healthy)).toMatchObject({ status: 'Unknown', reason: 'AgentStopped' });
    expect(wantedCondition('running', healthy)).toMatchObject({ status: 'False', reason: 'AgentHealthy' });
  });

  it('names the worst reason and every problem; a long message is cut', () => {
    const all = { ...healthy, ok: false, failedPlugins: ['sklookup'], failedSources: ['ziti#0'], problems: [problem] };
    expect(wantedCondition('running', all)).toEqual({
      status: 'True',
      reason: 'PluginFailed',
      message: `plugins failed: sklookup; sources failed: ziti#0; istiod#0: IstiodUnreachable since ${problem.since}: ${problem.message}`,
    });
    expect(wantedCondition('running', { ...healthy, failedSources: ['ziti#0'], problems: [problem] }).reason).toBe('SourceFailed');
    expect(wantedCondition('running', { ...healthy, problems: [problem] }).reason).toBe('IstiodUnreachable');
    const long = wantedCondition('running', { ...healthy, problems: [{ ...problem, message: 'x'.repeat(5000) }] });
    expect(long.message).toHaveLength(1024);
  });
});

describe('conditionPatch', () => {
  it('moves the transition time only when the status changes', () => {
    const now = new Date('2026-12-07T12:00:00.000Z');
    const wanted = wantedCondition('running', healthy);
    const before = { type: CONDITION_TYPE, status: 'False', reason: 'AgentHealthy', message: 'old', lastTransitionTime: new Date('2026-12-07T09:00:00.000Z') };
    expect(conditionPatch(wanted, now, before)).toEqual({
      status: { conditions: [{ type: CONDITION_TYPE, ...wanted, lastHeartbeatTime: now.toISOString(), lastTransitionTime: '2026-12-07T09:00:00.000Z' }] },
    });
    const changed = conditionPatch(wantedCondition('stopped', healthy), now, before) as { status: { conditions: { lastTransitionTime: string }[] } };
    expect(changed.status.conditions[0]!.lastTransitionTime).toBe(now.toISOString());
    expect(conditionHolds(before, wanted)).toBe(false);
    expect(conditionHolds({ ...before, message: wanted.message }, wanted)).toBe(true);
  });
});

describe('eventFor / eventObject', () => {
  it('makes a Node event in namespace default, named after the Node and the time', () => {
    const wanted = eventFor({ type: 'source-problem', problem });
    expect(wanted).toEqual({ type: 'Warning', reason: 'IstiodUnreachable', message: `istiod#0: ${problem.message}` });
    const now = new Date('2026-12-07T12:00:00.000Z');
    const a = eventObject(wanted, { name: 'worker-1', uid: 'u1' }, now, 1);
    const b = eventObject(wanted, { name: 'worker-1' }, now, 2);
    expect(a.metadata).toEqual({ name: `worker-1.${(BigInt(now.getTime()) * 1_000_000n + 1n).toString(16)}`, namespace: 'default' });
    expect(a.metadata.name).not.toBe(b.metadata.name);
    expect(a.involvedObject).toEqual({ apiVersion: 'v1', kind: 'Node', name: 'worker-1', uid: 'u1' });
    expect(b.involvedObject.uid).toBeUndefined();
    expect(eventFor({ type: 'stopping', keepPinned: true })).toMatchObject({ type: 'Normal', reason: 'AgentStopping' });
    expect(eventFor({ type: 'plugin-failed', plugin: 'p', error: 'e'.repeat(3000) }).message).toHaveLength(1024);
  });
});
