/**
 * Reports the agent's state to Kubernetes from inside its pod (`bpfsteer run --kubernetes`):
 * Events on its Node (started, a plugin or source failed, a source's problem such as Istiod
 * unreachable, stopping) and the Node condition BpfsteerDegraded with its health, through the
 * in-cluster config (the pod's service-account token, CA and KUBERNETES_SERVICE_HOST/PORT).
 *
 * It watches its own Node (list, then watch from the list's resourceVersion; a 410 Gone relists, as
 * client-node's ListWatch does) so that a condition lost with a re-registered Node, or changed by
 * someone else, is written again. Nothing here ever holds the agent up: the API server unreachable
 * or refusing means retries with backoff and log lines, never an agent failure.
 */
import { existsSync } from 'node:fs';
import { join } from 'node:path';
import { setTimeout as sleep } from 'node:timers/promises';
import { type AgentEvents, type AgentHealth, ConfigError, errorMessage, type Logger } from '@bpfsteer/agent-kernel';
import type { CoreV1Api, V1Node } from '@kubernetes/client-node';
import { type AgentPhase, conditionHolds, conditionOn, conditionPatch, wantedCondition } from './node-condition.js';
import { EVENT_NAMESPACE, eventFor, eventObject, repeatPatch, type WantedEvent } from './node-events.js';

/** where a pod finds its service account (client-node's loadFromCluster reads the same) */
export const SERVICE_ACCOUNT_DIR = '/var/run/secrets/kubernetes.io/serviceaccount';

export interface NodeReporterOptions {
  /** the Node the agent runs on (the DaemonSet gives it from spec.nodeName as NODE_NAME) */
  readonly nodeName: string;
  /** the root the service-account files are read under (default '/'; tests use a directory of their own) */
  readonly root?: string;
  readonly logger: Logger;
  /** the condition is written again this often even when unchanged, so a stale one shows (default 5 min) */
  readonly heartbeatMs?: number;
  /** first and longest wait between retries of a failed write (default 1 s, 30 s) */
  readonly retryMs?: { readonly initial: number; readonly max: number };
  /** how long `close` waits for the last writes (default 3 s) */
  readonly closeMs?: number;
}

/** What the reporter reads of the agent. */
export interface ReportedAgent {
  readonly events: AgentEvents;
  health(): AgentHealth;
}

/** an event seen again within this time counts up the recorded one (client-go's correlator: 10 min) */
const REPEAT_WINDOW_MS = 10 * 60_000;
const MAX_QUEUED_EVENTS = 100;
const EVENT_ATTEMPTS = 3;

type ClientNode = typeof import('@kubernetes/client-node');

/** The in-cluster settings missing under `root`, each named with what to set; empty when complete. */
export function inClusterProblems(root: string, env: NodeJS.ProcessEnv): string[] {
  const dir = join(root, SERVICE_ACCOUNT_DIR);
  return [
    ...(env.KUBERNETES_SERVICE_HOST ? [] : ['KUBERNETES_SERVICE_HOST is not set (the kubelet sets it in every pod)']),
    ...(env.KUBERNETES_SERVICE_PORT ? [] : ['KUBERNETES_SERVICE_PORT is not set (the kubelet sets it in every pod)']),
    ...['token', 'ca.crt']
      .filter((file) => !existsSync(join(dir, file)))
      .map((file) => `${join(dir, file)} is missing (mount the service-account token: automountServiceAccountToken)`),
  ];
}

export class NodeReporter {
  readonly #options: NodeReporterOptions;
  readonly #agent: ReportedAgent;
  readonly #k8s: ClientNode;
  readonly #api: CoreV1Api;
  readonly #informer: InstanceType<ClientNode['ListWatch']>;
  readonly #unsubscribe: () => void;
  readonly #heartbeat: NodeJS.Timeout;
  readonly #log: Logger;
  #phase: AgentPhase = 'starting';
  /** the Node as last seen (watch or a write's answer) */
  #node?: V1Node;
  #heartbeatDue = true;
  #writing?: Promise<void>;
  #closing = false;
  readonly #queue: WantedEvent[] = [];
  #posting?: Promise<void>;
  readonly #recorded = new Map<string, { name: string; count: number; atMs: number }>();
  #serial = 0;
  #informerRestart?: NodeJS.Timeout;

  private constructor(agent: ReportedAgent, options: NodeReporterOptions, k8s: ClientNode) {
    this.#agent = agent;
    this.#options = options;
    this.#k8s = k8s;
    this.#log = options.logger.child({ component: 'kubernetes' });
    const config = new k8s.KubeConfig();
    config.loadFromCluster(options.root && options.root !== '/' ? options.root : '');
    this.#api = config.makeApiClient(k8s.CoreV1Api);
    const fieldSelector = `metadata.name=${options.nodeName}`;
    this.#informer = new k8s.ListWatch<V1Node>(
      '/api/v1/nodes',
      new k8s.Watch(config),
      () => this.#api.listNode({ fieldSelector }),
      false,
      undefined,
      fieldSelector,
    );
    this.#informer.on('add', (node) => this.#seen(node));
    this.#informer.on('update', (node) => this.#seen(node));
    this.#informer.on('delete', () => {
      this.#log.warn({ node: options.nodeName }, 'the Node was deleted; its condition is written again when it is back');
      this.#node = undefined;
    });
    // ListWatch gives up on an error other than 410 Gone (which it relists on): start it again later
    this.#informer.on('error', (err: unknown) => {
      if (this.#closing) return;
      const retryMs = this.#options.retryMs?.max ?? 30_000;
      this.#log.warn({ error: apiError(err), retryMs }, 'watching the Node failed; trying again');
      clearTimeout(this.#informerRestart);
      this.#informerRestart = setTimeout(() => void this.#informer.start(), retryMs);
    });
    this.#unsubscribe = agent.events.subscribe((event) => {
      if (event.type === 'started') this.#phase = 'running';
      this.#enqueue(eventFor(event));
      this.#sync();
    });
    this.#heartbeat = setInterval(() => {
      this.#heartbeatDue = true;
      this.#sync();
    }, options.heartbeatMs ?? 5 * 60_000);
    this.#heartbeat.unref();
  }

  /**
   * Starts reporting for `agent` (subscribe before `agent.start()`, to hear its start). Throws a
   * ConfigError when the pod's in-cluster settings are missing; never waits for the API server.
   */
  static async start(agent: ReportedAgent, options: NodeReporterOptions): Promise<NodeReporter> {
    const problems = inClusterProblems(options.root ?? '/', process.env);
    if (problems.length > 0) {
      throw new ConfigError(problems.map((message) => ({ path: [], message })));
    }
    const reporter = new NodeReporter(agent, options, await import('@kubernetes/client-node'));
    void reporter.#informer.start();
    reporter.#sync();
    return reporter;
  }

  /**
   * Writes the condition "stopped" and the events still queued (within `closeMs`), then stops
   * watching. Call after `agent.stop()`.
   */
  async close(): Promise<void> {
    if (this.#closing) return;
    this.#phase = 'stopped';
    this.#sync();
    this.#closing = true;
    this.#unsubscribe();
    clearInterval(this.#heartbeat);
    clearTimeout(this.#informerRestart);
    const deadline = sleep(this.#options.closeMs ?? 3000, 'timeout' as const);
    const flushed = (async () => {
      await this.#writing;
      await this.#posting;
      return 'done' as const;
    })();
    if ((await Promise.race([flushed, deadline])) === 'timeout') {
      this.#log.warn({ queuedEvents: this.#queue.length }, 'the API server did not take the last condition and events in time');
    }
    await this.#informer.stop();
  }

  #seen(node: V1Node): void {
    this.#node = node;
    this.#sync();
  }

  /** Writes the condition when the Node does not show the wanted one (or a heartbeat is due). */
  #sync(): void {
    if (this.#closing) return;
    this.#writing ??= this.#writeCondition().finally(() => (this.#writing = undefined));
  }

  async #writeCondition(): Promise<void> {
    let failures = 0;
    for (;;) {
      const wanted = wantedCondition(this.#phase, this.#agent.health());
      const current = conditionOn(this.#node);
      if (!this.#heartbeatDue && conditionHolds(current, wanted)) return;
      try {
        const body = conditionPatch(wanted, new Date(), current);
        this.#node = await this.#api.patchNodeStatus(
          { name: this.#options.nodeName, body },
          this.#k8s.setHeaderOptions('Content-Type', this.#k8s.PatchStrategy.StrategicMergePatch),
        );
        this.#heartbeatDue = false;
        failures = 0;
        this.#log.debug({ condition: wanted }, 'Node condition written');
      } catch (err) {
        failures += 1;
        if (this.#closing) {
          this.#log.warn({ error: apiError(err) }, 'could not write the Node condition');
          return;
        }
        const retryMs = this.#retryDelay(failures);
        this.#log.warn({ error: apiError(err), retryMs }, 'could not write the Node condition; trying again');
        await sleep(retryMs);
      }
    }
  }

  #enqueue(event: WantedEvent): void {
    if (this.#closing) return;
    if (this.#queue.length >= MAX_QUEUED_EVENTS) {
      const dropped = this.#queue.shift();
      this.#log.warn({ dropped }, 'too many Events waiting for the API server; the oldest is dropped');
    }
    this.#queue.push(event);
    this.#posting ??= this.#postEvents().finally(() => (this.#posting = undefined));
  }

  async #postEvents(): Promise<void> {
    let failures = 0;
    while (this.#queue.length > 0) {
      const event = this.#queue[0]!;
      try {
        await this.#record(event);
        this.#queue.shift();
        failures = 0;
      } catch (err) {
        failures += 1;
        if (failures >= EVENT_ATTEMPTS || this.#closing) {
          this.#log.warn({ event, error: apiError(err), attempts: failures }, 'could not record an Event on the Node; dropped');
          this.#queue.shift();
          failures = 0;
          continue;
        }
        await sleep(this.#retryDelay(failures));
      }
    }
  }

  /** Records `event`: counts up the same event recorded lately, or creates one. */
  async #record(event: WantedEvent): Promise<void> {
    const key = `${event.type}\0${event.reason}\0${event.message}`;
    const now = new Date();
    const previous = this.#recorded.get(key);
    if (previous && now.getTime() - previous.atMs < REPEAT_WINDOW_MS) {
      try {
        await this.#api.patchNamespacedEvent(
          { name: previous.name, namespace: EVENT_NAMESPACE, body: repeatPatch(previous.count + 1, now) },
          this.#k8s.setHeaderOptions('Content-Type', this.#k8s.PatchStrategy.MergePatch),
        );
        this.#recorded.set(key, { ...previous, count: previous.count + 1, atMs: now.getTime() });
        return;
      } catch (err) {
        if (statusOf(err) !== 404) throw err;
        // expired or deleted meanwhile: a new one
      }
    }
    const uid = (this.#node ?? (await this.#readNode()))?.metadata?.uid;
    const node = { name: this.#options.nodeName, ...(uid && { uid }) };
    const body = eventObject(event, node, now, (this.#serial += 1));
    await this.#api.createNamespacedEvent({ namespace: EVENT_NAMESPACE, body });
    this.#recorded.set(key, { name: body.metadata.name!, count: 1, atMs: now.getTime() });
    for (const [k, r] of this.#recorded) if (now.getTime() - r.atMs >= REPEAT_WINDOW_MS) this.#recorded.delete(k);
  }

  /** The Node, read once when the watch has not shown it yet (for the uid of the first events). */
  async #readNode(): Promise<V1Node | undefined> {
    try {
      return await this.#api.readNode({ name: this.#options.nodeName });
    } catch (err) {
      this.#log.debug({ error: apiError(err) }, 'could not read the Node; its Events name it without uid');
      return undefined;
    }
  }

  #retryDelay(failures: number): number {
    const { initial, max } = this.#options.retryMs ?? { initial: 1000, max: 30_000 };
    return Math.min(max, initial * 2 ** (failures - 1));
  }
}

function statusOf(err: unknown): number | undefined {
  const code = (err as { code?: unknown; statusCode?: unknown }).code ?? (err as { statusCode?: unknown }).statusCode;
  return typeof code === 'number' ? code : undefined;
}

/** A short account of an API error (client-node's ApiException message carries every header). */
function apiError(err: unknown): string {
  const status = statusOf(err);
  if (status === undefined) return errorMessage(err);
  const body = (err as { body?: unknown }).body;
  const detail = typeof body === 'string' ? safeMessage(body) : (body as { message?: string } | undefined)?.message;
  return `HTTP ${status}${detail ? `: ${detail}` : ''}`;
}

function safeMessage(body: string): string {
  try {
    return (JSON.parse(body) as { message?: string }).message ?? body.slice(0, 200);
  } catch {
    return body.slice(0, 200);
  }
}
