/**
 * The agent's health as a condition on its Node (what `kubectl describe node` lists beside the
 * kubelet's own): pure translation, no I/O. It follows the Node's problem conditions
 * (MemoryPressure, NetworkUnavailable, node-problem-detector's): status True means something is
 * wrong; Unknown while the agent starts and after it stopped.
 */
import type { AgentHealth } from '@bpfsteer/agent-kernel';
import type { V1Node, V1NodeCondition } from '@kubernetes/client-node';
import { cutMessage } from './cut-message.js';

export const CONDITION_TYPE = 'BpfsteerDegraded';

/** Where the agent's life is, for the condition: before its first apply round, running, stopped. */
export type AgentPhase = 'starting' | 'running' | 'stopped';

export interface WantedCondition {
  readonly status: 'True' | 'False' | 'Unknown';
  /** CamelCase, e.g. PluginFailed, IstiodUnreachable */
  readonly reason: string;
  readonly message: string;
}

export function wantedCondition(phase: AgentPhase, health: AgentHealth): WantedCondition {
  if (phase === 'starting') return { status: 'Unknown', reason: 'AgentStarting', message: 'the bpfsteer agent is starting' };
  if (phase === 'stopped') return { status: 'Unknown', reason: 'AgentStopped', message: 'the bpfsteer agent stopped' };
  const wrong = [
    ...(health.failedPlugins.length ? [`plugins failed: ${health.failedPlugins.join(', ')}`] : []),
    ...(health.failedSources.length ? [`sources failed: ${health.failedSources.join(', ')}`] : []),
    ...health.problems.map((p) => `${p.source}: ${p.problem} since ${p.since}: ${p.message}`),
  ];
  if (wrong.length === 0) return { status: 'False', reason: 'AgentHealthy', message: 'every plugin and source of the bpfsteer agent runs' };
  const reason = health.failedPlugins.length ? 'PluginFailed' : health.failedSources.length ? 'SourceFailed' : health.problems[0]!.problem;
  return { status: 'True', reason, message: cutMessage(wrong.join('; ')) };
}

/** The agent's condition on `node`, if it has one. */
export function conditionOn(node: V1Node | undefined): V1NodeCondition | undefined {
  return node?.status?.conditions?.find((c) => c.type === CONDITION_TYPE);
}

/** Whether the Node shows what is wanted (heartbeat and transition times aside). */
export function conditionHolds(current: V1NodeCondition | undefined, wanted: WantedCondition): boolean {
  return current?.status === wanted.status && current.reason === wanted.reason && current.message === wanted.message;
}

/**
 * The strategic merge patch of the Node's status that sets the condition (conditions merge by
 * type, so the kubelet's own are untouched). Its transition time moves only when its status does.
 */
export function conditionPatch(wanted: WantedCondition, now: Date, current: V1NodeCondition | undefined): object {
  const transition = current?.status === wanted.status && current.lastTransitionTime ? current.lastTransitionTime : now;
  return {
    status: {
      conditions: [
        {
          type: CONDITION_TYPE,
          ...wanted,
          lastHeartbeatTime: now.toISOString(),
          lastTransitionTime: new Date(transition).toISOString(),
        },
      ],
    },
  };
}
