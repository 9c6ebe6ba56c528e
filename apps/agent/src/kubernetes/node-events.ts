/**
 * What the agent's events become as Kubernetes Events on its Node: pure translation, no I/O. The
 * objects are core/v1 Events as the kubelet records its node events (client-go
 * tools/record/event.go: a cluster-scoped object's events live in namespace "default", named
 * `<object>.<time in ns, hex>`; the API server refuses another namespace for a Node,
 * pkg/apis/core/validation/events.go).
 */
import type { AgentEvent } from '@bpfsteer/agent-kernel';
import type { CoreV1Event } from '@kubernetes/client-node';
import { cutMessage } from './cut-message.js';

export const EVENT_NAMESPACE = 'default';
export const EVENT_COMPONENT = 'bpfsteer-agent';

export interface WantedEvent {
  readonly type: 'Normal' | 'Warning';
  /** CamelCase, e.g. AgentStarted, PluginFailed, IstiodUnreachable */
  readonly reason: string;
  readonly message: string;
}

export function eventFor(event: AgentEvent): WantedEvent {
  switch (event.type) {
    case 'started': {
      const { failedPlugins, failedSources } = event.health;
      const failed = [...failedPlugins.map((p) => `plugin ${p}`), ...failedSources.map((s) => `source ${s}`)];
      return {
        type: failed.length ? 'Warning' : 'Normal',
        reason: 'AgentStarted',
        message: failed.length ? `bpfsteer agent running; failed: ${failed.join(', ')}` : 'bpfsteer agent running',
      };
    }
    case 'plugin-failed':
      return { type: 'Warning', reason: 'PluginFailed', message: cutMessage(`plugin ${event.plugin} failed: ${event.error}`) };
    case 'source-failed':
      return { type: 'Warning', reason: 'SourceFailed', message: cutMessage(`source ${event.source} failed: ${event.error}`) };
    case 'source-problem':
      return { type: 'Warning', reason: event.problem.problem, message: cutMessage(`${event.problem.source}: ${event.problem.message}`) };
    case 'source-problem-cleared':
      return { type: 'Normal', reason: 'ProblemCleared', message: `${event.source}: ${event.problem} cleared` };
    case 'stopping':
      return {
        type: 'Normal',
        reason: 'AgentStopping',
        message: event.keepPinned ? 'bpfsteer agent stopping; its BPF programs stay in force for the next one' : 'bpfsteer agent stopping; its BPF programs are removed',
      };
  }
}

export interface EventNode {
  readonly name: string;
  /** the Node's uid when known (the involved object is then exactly this Node, not a namesake) */
  readonly uid?: string;
}

/** A new Event object; `serial` tells apart the names of events made in one millisecond. */
export function eventObject(wanted: WantedEvent, node: EventNode, now: Date, serial: number): CoreV1Event {
  const nanos = BigInt(now.getTime()) * 1_000_000n + BigInt(serial % 1_000_000);
  return {
    apiVersion: 'v1',
    kind: 'Event',
    metadata: { name: `${node.name}.${nanos.toString(16)}`, namespace: EVENT_NAMESPACE },
    involvedObject: { apiVersion: 'v1', kind: 'Node', name: node.name, ...(node.uid && { uid: node.uid }) },
    ...wanted,
    source: { component: EVENT_COMPONENT, host: node.name },
    reportingComponent: EVENT_COMPONENT,
    reportingInstance: node.name,
    firstTimestamp: now,
    lastTimestamp: now,
    count: 1,
  };
}

/** The merge patch that counts one more of an event already recorded (client-go's correlator does the same). */
export function repeatPatch(count: number, now: Date): object {
  return { count, lastTimestamp: now.toISOString() };
}
