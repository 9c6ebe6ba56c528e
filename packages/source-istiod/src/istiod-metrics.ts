/**
 * The istiod source's Prometheus series, made in the agent's registry (SourceContext.metrics; the
 * agent adds the label `source`, the source's name). Every label value is bounded: `type_url` is
 * the type subscribed to (istio.workload.Address) or `other` for a response of any other type.
 *
 * xDS (the Delta ADS stream to Istiod, xds/delta-ads-client.ts):
 * - `bpfsteer_xds_connected` (gauge): 1 while a stream is open and Istiod answered it, else 0.
 * - `bpfsteer_xds_connection_attempts_total` (counter): streams opened (or tried: credentials unreadable).
 * - `bpfsteer_xds_connection_failures_total` (counter): of them, those Istiod never answered
 *   (unreachable, refused at once, credentials unreadable). An answered stream that ends (Istiod
 *   ends every stream at its maximum connection age) is none.
 * - `bpfsteer_xds_responses_total{type_url,outcome}` (counter): responses ACKed (`outcome="ack"`) or
 *   NACKed (`outcome="nack"`: refused whole, or some of its resources rejected).
 * - `bpfsteer_xds_last_ack_timestamp_seconds{type_url}`, `bpfsteer_xds_last_nack_timestamp_seconds{type_url}`
 *   (gauges): when the last ACK / NACK was sent (Unix time).
 * - `bpfsteer_xds_rejected_resources_total{type_url}` (counter): resources a NACK named (not applied).
 * - `bpfsteer_xds_resources{type_url}` (gauge): resources held (kept while disconnected).
 *
 * ZDS (the CNI side, zds/; the gauges are read at each scrape):
 * - `bpfsteer_zds_proxy_connections` (gauge): node proxy (ztunnel) connections open.
 * - `bpfsteer_zds_node_agent_connections` (gauge): of them, those relayed to istio-cni (its node agent answered the connect).
 * - `bpfsteer_zds_synced` (gauge): 1 once the pods' initial sync is done (nothing is published before).
 * - `bpfsteer_zds_pods{state}` (gauge): pods known, by state: `confirmed` (the proxy acknowledged
 *   the Add, or its listener appeared), `pending` (the proxy refused it; it retries), `unconfirmed`
 *   (no answer yet).
 * - `bpfsteer_zds_proxy_connections_total{outcome}` (counter): proxy connections `accepted`, or
 *   `refused` (beyond the sessions allowed at once).
 * - `bpfsteer_zds_node_agent_connect_failures_total` (counter): connects to istio-cni that failed (retried).
 * - `bpfsteer_zds_requests_total{type,outcome}` (counter): istio-cni's requests (`type` add, del,
 *   keep, snapshot_sent, or unknown when it does not decode) by outcome: `ok` (the proxy
 *   acknowledged), `refused` (the proxy answered an error, or an answer that does not decode),
 *   `invalid` (malformed: answered with an error by the agent, not forwarded), `unanswered` (the
 *   session ended first).
 */
import type { SourceMetrics } from '@bpfsteer/agent-kernel';
import type { ZdsPod } from './zds/pod-registry.js';

export type XdsResponseOutcome = 'ack' | 'nack';

/** What the xDS client reports (DeltaAdsClientDeps.metrics). */
export interface XdsMetrics {
  /** a stream is being opened */
  attempt(): void;
  /** the stream is answered (true) or gone (false) */
  connection(answered: boolean): void;
  /** a stream ended, or could not be opened, before Istiod answered it */
  failed(): void;
  /** a response was ACKed or NACKed; `rejected`: the resources its NACK named */
  response(typeUrl: string, outcome: XdsResponseOutcome, rejected: number): void;
  /** the resources held of `typeUrl` */
  resources(typeUrl: string, count: number): void;
}

export type ZdsRequestType = 'add' | 'del' | 'keep' | 'snapshot_sent' | 'unknown';
export type ZdsRequestOutcome = 'ok' | 'refused' | 'invalid' | 'unanswered';

/** What the ZDS proxy and its sessions report (ZdsProxyDeps.metrics). */
export interface ZdsMetrics {
  request(type: ZdsRequestType, outcome: ZdsRequestOutcome): void;
  proxyConnection(outcome: 'accepted' | 'refused'): void;
  nodeAgentConnectFailed(): void;
}

/** What the ZDS gauges read at each scrape (the running CNI side). */
export interface ZdsReadings {
  /** the sessions open (one per proxy connection), in their states (`relaying`: istio-cni connected) */
  sessions(): readonly { readonly state: string }[];
  pods(): Iterable<Pick<ZdsPod, 'confirmed' | 'pending'>>;
  synced(): boolean;
}

export interface IstiodMetrics {
  readonly xds: XdsMetrics;
  readonly zds: ZdsMetrics;
  /** Makes the ZDS gauges read `readings` (until the returned function is called: then 0). */
  observeZds(readings: ZdsReadings): () => void;
}

/**
 * The readings of each registry's ZDS gauges: a source made again under the same name gets the
 * gauges made first (SourceMetrics returns them), whose collect reads what the newest one observes.
 */
const zdsReadings = new WeakMap<SourceMetrics, ReadingsSlot>();

interface ReadingsSlot {
  current?: ZdsReadings;
}

export function istiodMetrics(metrics: SourceMetrics): IstiodMetrics {
  let slot = zdsReadings.get(metrics);
  if (slot === undefined) zdsReadings.set(metrics, (slot = {}));
  const readings = slot;
  return {
    xds: xdsMetrics(metrics),
    zds: zdsMetrics(metrics, readings),
    observeZds(current) {
      readings.current = current;
      return () => {
        if (readings.current === current) delete readings.current;
      };
    },
  };
}

function xdsMetrics(metrics: SourceMetrics): XdsMetrics {
  const connected = metrics.gauge({ name: 'bpfsteer_xds_connected', help: 'Whether the xDS stream to Istiod is open and answered (1) or not (0)' });
  const attempts = metrics.counter({ name: 'bpfsteer_xds_connection_attempts_total', help: 'xDS streams to Istiod opened or tried' });
  const failures = metrics.counter({
    name: 'bpfsteer_xds_connection_failures_total',
    help: 'xDS streams Istiod never answered: unreachable, refused at once, or credentials unreadable',
  });
  const responses = metrics.counter({
    name: 'bpfsteer_xds_responses_total',
    help: "Istiod's xDS responses, by type URL and outcome: ack, or nack (refused whole, or resources of it rejected)",
    labelNames: ['type_url', 'outcome'] as const,
  });
  const lastAck = metrics.gauge({ name: 'bpfsteer_xds_last_ack_timestamp_seconds', help: 'When the last xDS ACK was sent (Unix time)', labelNames: ['type_url'] as const });
  const lastNack = metrics.gauge({ name: 'bpfsteer_xds_last_nack_timestamp_seconds', help: 'When the last xDS NACK was sent (Unix time)', labelNames: ['type_url'] as const });
  const rejected = metrics.counter({
    name: 'bpfsteer_xds_rejected_resources_total',
    help: 'xDS resources rejected (named by a NACK, not applied), by type URL',
    labelNames: ['type_url'] as const,
  });
  const resources = metrics.gauge({ name: 'bpfsteer_xds_resources', help: 'xDS resources held (kept while disconnected), by type URL', labelNames: ['type_url'] as const });
  return {
    attempt: () => attempts.inc(),
    connection: (answered) => connected.set(answered ? 1 : 0),
    failed: () => failures.inc(),
    response(typeUrl, outcome, count) {
      const type_url = typeUrl;
      responses.inc({ type_url, outcome });
      (outcome === 'ack' ? lastAck : lastNack).setToCurrentTime({ type_url });
      if (count > 0) rejected.inc({ type_url }, count);
    },
    resources: (typeUrl, count) => resources.set({ type_url: typeUrl }, count),
  };
}

function zdsMetrics(metrics: SourceMetrics, slot: ReadingsSlot): ZdsMetrics {
  metrics.gauge({
    name: 'bpfsteer_zds_proxy_connections',
    help: 'Node proxy (ztunnel) connections to the ZDS socket open',
    collect() {
      this.set(slot.current?.sessions().length ?? 0);
    },
  });
  metrics.gauge({
    name: 'bpfsteer_zds_node_agent_connections',
    help: 'Proxy connections relayed to the istio-cni node agent (connected to it)',
    collect() {
      this.set(slot.current?.sessions().filter((s) => s.state === 'relaying').length ?? 0);
    },
  });
  metrics.gauge({
    name: 'bpfsteer_zds_synced',
    help: "Whether the pods' initial sync over ZDS is done (1) or not (0)",
    collect() {
      this.set(slot.current?.synced() ? 1 : 0);
    },
  });
  metrics.gauge({
    name: 'bpfsteer_zds_pods',
    help: 'Pods known over ZDS, by state: confirmed (by the proxy), pending (refused by the proxy, which retries), unconfirmed (no answer yet)',
    labelNames: ['state'] as const,
    collect() {
      const counts = { confirmed: 0, pending: 0, unconfirmed: 0 };
      for (const pod of slot.current?.pods() ?? []) counts[pod.confirmed ? 'confirmed' : pod.pending ? 'pending' : 'unconfirmed'] += 1;
      for (const [state, count] of Object.entries(counts)) this.set({ state }, count);
    },
  });
  const requests = metrics.counter({
    name: 'bpfsteer_zds_requests_total',
    help: "istio-cni's ZDS requests, by type and outcome: ok (acknowledged by the proxy), refused (by the proxy), invalid (malformed, not forwarded), unanswered",
    labelNames: ['type', 'outcome'] as const,
  });
  const connections = metrics.counter({
    name: 'bpfsteer_zds_proxy_connections_total',
    help: 'Node proxy connections to the ZDS socket, by outcome: accepted, refused (too many open at once)',
    labelNames: ['outcome'] as const,
  });
  const connectFailures = metrics.counter({
    name: 'bpfsteer_zds_node_agent_connect_failures_total',
    help: 'Connects to the istio-cni node agent that failed (each retried with backoff)',
  });
  return {
    request: (type, outcome) => requests.inc({ type, outcome }),
    proxyConnection: (outcome) => connections.inc({ outcome }),
    nodeAgentConnectFailed: () => connectFailures.inc(),
  };
}
