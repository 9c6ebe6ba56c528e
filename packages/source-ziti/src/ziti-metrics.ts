/**
 * The ziti source's Prometheus series, made in the agent's registry (SourceContext.metrics; the
 * agent adds the label `source`, the source's name). Every label value is bounded: routes are the
 * API's route templates (`unmatched` for a request no route matches), methods those node's HTTP
 * parser accepts, statuses the API's.
 *
 * - `bpfsteer_ziti_api_requests_total{listener,route,method,status}` (counter): requests the API
 *   answered, on the unix socket (`listener="unix"`, POST /v1/diverter's fast lane included) and on
 *   TCP (`listener="tcp"`). The diverter's and the spool's own in-process calls are not requests.
 * - `bpfsteer_ziti_api_request_duration_seconds{route}` (histogram): from the request's arrival to
 *   the end of its answer (an event stream's or a `-M` call's: as long as it lasted).
 * - `bpfsteer_ziti_diverter_calls_total{outcome}` (counter): calls of the native client
 *   (POST /v1/diverter) the agent ran, by outcome: `ok` (exit 0), `refused` (exit 1), `usage`
 *   (exit 2), `kept` (refused for a reason that may pass: the client keeps it in its spool).
 * - `bpfsteer_ziti_spool_calls_total{outcome}` (counter): calls the client kept while the agent was
 *   unreachable, as the agent ran them from the spool: `applied` (exit 0), `failed` (exit != 0,
 *   removed), `deferred` (may pass later: kept, tried again), `invalid` (not a call: renamed .bad).
 */
import type { SourceMetrics } from '@bpfsteer/agent-kernel';

export type ApiListener = 'unix' | 'tcp';
export type DiverterCallOutcome = 'ok' | 'refused' | 'usage' | 'kept';
export type SpoolCallOutcome = 'applied' | 'failed' | 'deferred' | 'invalid';

/** The route label of a request no route matched. */
export const UNMATCHED_ROUTE = 'unmatched';

/** From a call answered at once (~0.2 ms on the unix socket) to a batch of 100,000 rules (seconds). */
const API_DURATION_BUCKETS = [0.0005, 0.001, 0.0025, 0.005, 0.01, 0.025, 0.05, 0.1, 0.25, 0.5, 1, 2.5, 5, 10, 30];

export interface ZitiMetrics {
  /** a request answered: its route template (or UNMATCHED_ROUTE), method, status and duration */
  apiRequest(listener: ApiListener, route: string, method: string, status: number, seconds: number): void;
  /** a call of the native client ran (POST /v1/diverter) */
  diverterCall(outcome: DiverterCallOutcome): void;
  /** a kept call ran from the spool (or was not a call) */
  spoolCall(outcome: SpoolCallOutcome): void;
}

export function zitiMetrics(metrics: SourceMetrics): ZitiMetrics {
  const requests = metrics.counter({
    name: 'bpfsteer_ziti_api_requests_total',
    help: 'Requests the ziti API answered, by listener (unix, tcp), route template, method and status code',
    labelNames: ['listener', 'route', 'method', 'status'] as const,
  });
  const durations = metrics.histogram({
    name: 'bpfsteer_ziti_api_request_duration_seconds',
    help: 'Time from a ziti API request to the end of its answer, by route template',
    labelNames: ['route'] as const,
    buckets: API_DURATION_BUCKETS,
  });
  const diverterCalls = metrics.counter({
    name: 'bpfsteer_ziti_diverter_calls_total',
    help: 'Calls of the native bpfsteer-diverter client the agent ran, by outcome: ok, refused, usage, kept (the client keeps it for later)',
    labelNames: ['outcome'] as const,
  });
  const spoolCalls = metrics.counter({
    name: 'bpfsteer_ziti_spool_calls_total',
    help: 'Calls kept in the diverter spool that the agent ran, by outcome: applied, failed, deferred (tried again later), invalid (renamed .bad)',
    labelNames: ['outcome'] as const,
  });
  return {
    apiRequest(listener, route, method, status, seconds) {
      requests.inc({ listener, route, method, status: String(status) });
      durations.observe({ route }, seconds);
    },
    diverterCall: (outcome) => diverterCalls.inc({ outcome }),
    spoolCall: (outcome) => spoolCalls.inc({ outcome }),
  };
}
