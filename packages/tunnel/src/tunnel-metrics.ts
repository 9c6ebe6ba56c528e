/**
 * The tunnel source's Prometheus series, made in the agent's registry (SourceContext.metrics; the
 * agent adds the label `source`, the source's name), read from the running tunnel's counters
 * (tunnel-stats.ts) at each scrape. Counters go on from where they were when a tunnel of the same
 * source stops and another starts.
 *
 * - `bpfsteer_tunnel_connections_total{direction}` (counter): connections carried: `outbound`
 *   (redirected connections accepted, to a peer), `inbound` (CONNECT streams from peers).
 * - `bpfsteer_tunnel_connection_failures_total{direction,reason}` (counter): of them, those reset:
 *   outbound `no_destination` (no original destination), `peer_failed` (the peer unreachable,
 *   refusing this node's identity, or not answering in time), `peer_refused` (the peer answered an
 *   error: its destination refused or did not answer); inbound `dial_failed` (the destination here
 *   not reached).
 * - `bpfsteer_tunnel_bytes_total{direction}` (counter): bytes carried, `out` from the connecting
 *   clients towards their destinations, `in` the replies.
 * - `bpfsteer_tunnel_open_connections` (gauge): connections being carried now.
 * - `bpfsteer_tunnel_peer_sessions{direction}` (gauge): mutual-TLS HTTP/2 sessions open, `outbound`
 *   this node's to its peers (one per peer), `inbound` the peers' to this node.
 * - `bpfsteer_tunnel_peer_sessions_opened_total` (counter): sessions this node opened to its peers.
 * - `bpfsteer_tunnel_peer_sessions_refused_total` (counter): peers' sessions refused (identity not allowed).
 */
import type { SourceMetrics } from '@bpfsteer/agent-kernel';
import { emptyStats, type TunnelStats } from './tunnel-stats.js';

/** What the series read: a Tunnel. */
export interface TunnelReadings {
  readonly stats: TunnelStats;
  /** open sessions to peers */
  readonly sessions: number;
  /** open sessions of peers */
  readonly peerSessions: number;
}

type CounterField = Exclude<keyof TunnelStats, 'open'>;

/**
 * What each registry's series read: the tunnel observed now, and the counts of the tunnels observed
 * before it. A source made again under the same name gets the series made first (SourceMetrics
 * returns them), whose collect reads this.
 */
interface Observed {
  current?: TunnelReadings;
  before: TunnelStats;
}

const observedBy = new WeakMap<SourceMetrics, Observed>();

/** A counter of the tunnel (the ones before it included). */
function total(observed: Observed, field: CounterField): number {
  return observed.before[field] + (observed.current?.stats[field] ?? 0);
}

function defineSeries(metrics: SourceMetrics, observed: Observed): void {
  /** a counter whose series are set from the tunnel's counters at each scrape */
  const counter = <L extends string>(name: string, help: string, labelNames: readonly L[], series: readonly [Record<L, string>, CounterField][]) =>
    metrics.counter<L>({
      name,
      help,
      labelNames,
      collect() {
        this.reset();
        for (const [labels, field] of series) this.inc(labels as never, total(observed, field));
      },
    });
  counter('bpfsteer_tunnel_connections_total', 'Connections the tunnel carried: outbound (redirected here, to a peer), inbound (from peers)', ['direction'], [
    [{ direction: 'outbound' }, 'outboundAccepted'],
    [{ direction: 'inbound' }, 'inboundStreams'],
  ]);
  counter(
    'bpfsteer_tunnel_connection_failures_total',
    'Connections the tunnel reset, by direction and reason: outbound no_destination, peer_failed, peer_refused; inbound dial_failed',
    ['direction', 'reason'],
    [
      [{ direction: 'outbound', reason: 'no_destination' }, 'outboundNoDestination'],
      [{ direction: 'outbound', reason: 'peer_failed' }, 'outboundPeerFailed'],
      [{ direction: 'outbound', reason: 'peer_refused' }, 'outboundRefused'],
      [{ direction: 'inbound', reason: 'dial_failed' }, 'inboundDialFailed'],
    ],
  );
  counter('bpfsteer_tunnel_bytes_total', 'Bytes the tunnel carried: out from the clients towards their destinations, in the replies', ['direction'], [
    [{ direction: 'out' }, 'bytesOut'],
    [{ direction: 'in' }, 'bytesIn'],
  ]);
  counter('bpfsteer_tunnel_peer_sessions_opened_total', 'HTTP/2 sessions (mutual TLS) the tunnel opened to its peers', [], [[{}, 'peerSessionsOpened']]);
  counter('bpfsteer_tunnel_peer_sessions_refused_total', "Peers' sessions refused: their identity is not allowed", [], [[{}, 'inboundIdentityRefused']]);
  metrics.gauge({
    name: 'bpfsteer_tunnel_open_connections',
    help: 'Connections the tunnel carries now',
    collect() {
      this.set(observed.current?.stats.open ?? 0);
    },
  });
  metrics.gauge({
    name: 'bpfsteer_tunnel_peer_sessions',
    help: "HTTP/2 sessions (mutual TLS) open: outbound (this node's to its peers), inbound (the peers' to this node)",
    labelNames: ['direction'] as const,
    collect() {
      this.set({ direction: 'outbound' }, observed.current?.sessions ?? 0);
      this.set({ direction: 'inbound' }, observed.current?.peerSessions ?? 0);
    },
  });
}

/**
 * Makes the series read `tunnel` (until the returned function is called: then its counts stay in
 * the counters and the gauges read 0).
 */
export function observeTunnel(metrics: SourceMetrics, tunnel: TunnelReadings): () => void {
  let observed = observedBy.get(metrics);
  if (observed === undefined) {
    observed = { before: emptyStats() };
    observedBy.set(metrics, observed);
    defineSeries(metrics, observed);
  }
  const held = observed;
  held.current = tunnel;
  return () => {
    if (held.current !== tunnel) return;
    const last = tunnel.stats;
    for (const field of Object.keys(held.before) as (keyof TunnelStats)[]) if (field !== 'open') held.before[field] += last[field];
    delete held.current;
  };
}
