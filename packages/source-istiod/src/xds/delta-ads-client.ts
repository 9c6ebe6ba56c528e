/**
 * A Delta ADS client of Istiod for `istio.workload.Address`: one bidirectional stream, a wildcard
 * subscription, every response ACKed or NACKed, reconnects with jittered exponential backoff and
 * `initial_resource_versions`, and the last known state kept while disconnected.
 *
 * Events: `change` after every response that changed the state, `nack` after every response with
 * rejected resources (its good ones applied, ztunnel's way: apply-delta-response.ts) or refused
 * whole, `connected` when a stream is answered, `disconnected` when it ends.
 */
import { EventEmitter } from 'node:events';
import { Client, type ClientDuplexStream, type StatusObject, status as grpcStatus } from '@grpc/grpc-js';
import { AgentStateError, ConfigError, issuesFromZod } from '@bpfsteer/agent-kernel';
import { type AddressState, emptyAddressState } from './address-state.js';
import { applyDeltaResponse, rejectionDetail } from './apply-delta-response.js';
import { backoffDelay } from './backoff.js';
import { readStreamCredentials } from './channel-credentials.js';
import {
  type DeltaAdsClientOptions,
  type DeltaAdsClientOptionsInput,
  deltaAdsClientOptionsSchema,
} from './delta-ads-options.js';
import { ackRequest, nackRequest, nodeMessage, subscribeRequest } from './delta-requests.js';
import {
  ADDRESS_TYPE_URL,
  type DeltaDiscoveryRequestInput,
  type NodeInput,
  type RawDeltaDiscoveryResponse,
} from './xds-messages.js';
import { loadXdsProtos, type XdsProtos } from './xds-protos.js';
import type { XdsMetrics } from '../istiod-metrics.js';

/** The subset of a pino logger the client uses. */
export interface XdsLogger {
  debug(fields: object, message: string): void;
  info(fields: object, message: string): void;
  warn(fields: object, message: string): void;
  error(fields: object, message: string): void;
}

const silentLogger: XdsLogger = { debug() {}, info() {}, warn() {}, error() {} };

export interface DeltaAdsClientDeps {
  readonly logger?: XdsLogger;
  /** jitter source, [0, 1) */
  readonly random?: () => number;
  /** where the .proto files are (default: the package's `proto/`) */
  readonly protoDir?: string;
  /** sent as the node's user_agent_version */
  readonly userAgentVersion?: string;
  /** where the connection, the responses and the resources are reported (istiod-metrics.ts) */
  readonly metrics?: XdsMetrics;
}

/** The type URL label of a response: the one subscribed to, or `other` (a server sends what it likes). */
const typeUrlLabel = (typeUrl: string): string => (typeUrl === ADDRESS_TYPE_URL ? ADDRESS_TYPE_URL : 'other');

export interface XdsChange {
  readonly state: AddressState;
  /** the state before this response (upserted/removed name the differences) */
  readonly previous: AddressState;
  readonly upserted: readonly string[];
  readonly removed: readonly string[];
  readonly nonce: string;
  readonly systemVersionInfo: string;
}

export interface XdsNack {
  readonly nonce: string;
  readonly error: string;
  /** the resources not applied (empty: the whole response was refused) */
  readonly rejected: readonly string[];
}

export interface XdsDisconnect {
  /** gRPC status code name or number and details, or why the stream could not be opened */
  readonly reason: string;
  /** ms until the next attempt */
  readonly retryInMs: number;
  /** whether Istiod had answered the stream that ended (false: it could not be reached, or refused at once) */
  readonly answered: boolean;
}

export interface DeltaAdsClientEvents {
  change: [XdsChange];
  nack: [XdsNack];
  connected: [{ readonly stream: number }];
  disconnected: [XdsDisconnect];
}

type DeltaStream = ClientDuplexStream<DeltaDiscoveryRequestInput, RawDeltaDiscoveryResponse>;

export class DeltaAdsClient extends EventEmitter<DeltaAdsClientEvents> {
  readonly options: DeltaAdsClientOptions;
  readonly #logger: XdsLogger;
  readonly #random: () => number;
  readonly #protoDir?: string;
  readonly #node: NodeInput;
  readonly #metrics?: XdsMetrics;
  #protos?: XdsProtos;
  #state: AddressState = emptyAddressState;
  #running = false;
  #client?: Client;
  #call?: DeltaStream;
  #timer?: NodeJS.Timeout;
  #attempt = 0;
  #streams = 0;
  #connected = false;
  /** the token problems last logged */
  #tokenProblems = '';

  /** Throws a ConfigError naming every problem of `options`. */
  constructor(options: DeltaAdsClientOptionsInput, deps: DeltaAdsClientDeps = {}) {
    super();
    const parsed = deltaAdsClientOptionsSchema.safeParse(options);
    if (!parsed.success) {
      throw new ConfigError(issuesFromZod(parsed.error, { input: options, schema: deltaAdsClientOptionsSchema }));
    }
    this.options = parsed.data;
    this.#logger = deps.logger ?? silentLogger;
    this.#random = deps.random ?? Math.random;
    this.#protoDir = deps.protoDir;
    this.#node = nodeMessage(parsed.data.node, deps.userAgentVersion ?? '0.1.0');
    if (deps.metrics) this.#metrics = deps.metrics;
  }

  /** The resources held (kept while disconnected). */
  get state(): AddressState {
    return this.#state;
  }

  /** Whether the current stream has been answered by the server. */
  get connected(): boolean {
    return this.#connected;
  }

  /** Number of streams opened so far. */
  get streamsOpened(): number {
    return this.#streams;
  }

  /** Opens the stream (in the background); the client then keeps it open until `stop`. */
  start(): void {
    if (this.#running) throw new AgentStateError('the xDS client is already started');
    this.#protos ??= loadXdsProtos(this.#protoDir);
    this.#running = true;
    this.#metrics?.connection(false);
    this.#metrics?.resources(ADDRESS_TYPE_URL, this.#state.resources.size);
    void this.#open();
  }

  /** Closes the stream and stops reconnecting. The state stays readable. */
  async stop(): Promise<void> {
    this.#running = false;
    clearTimeout(this.#timer);
    this.#timer = undefined;
    this.#closeStream();
  }

  async #open(): Promise<void> {
    this.#timer = undefined;
    this.#metrics?.attempt();
    let credentials;
    try {
      credentials = await readStreamCredentials(this.options);
    } catch (err) {
      this.#scheduleReconnect(err instanceof Error ? err.message : String(err), false);
      return;
    }
    if (!this.#running) return;
    // sent all the same (Istiod's TOKEN_AUDIENCES may differ from the default), said once per change
    const tokenText = credentials.tokenProblems.join('; ');
    if (tokenText && tokenText !== this.#tokenProblems) {
      this.#logger.warn({ problems: credentials.tokenProblems }, 'Istiod will likely refuse the stream (PERMISSION_DENIED / UNAUTHENTICATED)');
    }
    this.#tokenProblems = tokenText;
    const protos = this.#protos as XdsProtos;
    const method = protos.deltaMethod;
    const client = new Client(this.options.address, credentials.channelCredentials, credentials.channelOptions);
    const call = client.makeBidiStreamRequest(
      method.path,
      method.requestSerialize,
      method.responseDeserialize,
      credentials.metadata,
    ) as DeltaStream;
    this.#client = client;
    this.#call = call;
    const stream = (this.#streams += 1);
    const answered = () => {
      if (this.#call !== call || this.#connected) return;
      this.#connected = true;
      this.#metrics?.connection(true);
      this.#logger.info({ address: this.options.address, stream }, 'xDS stream to Istiod answered');
      this.#emitSafely('connected', { stream });
    };
    call.on('metadata', answered);
    call.on('data', (response: RawDeltaDiscoveryResponse) => {
      if (this.#call !== call) return;
      answered();
      this.#attempt = 0;
      this.#onResponse(call, response);
    });
    call.on('error', () => {
      // the status event that follows carries the reason
    });
    call.on('status', (status: StatusObject) => {
      if (this.#call !== call) return;
      const answered = this.#connected;
      this.#closeStream();
      this.#scheduleReconnect(`stream ended: ${grpcStatus[status.code] ?? status.code} ${status.details}`, answered);
    });
    const held = this.#state.resources.size;
    call.write(subscribeRequest(this.#node, ADDRESS_TYPE_URL, this.#state));
    this.#logger.info(
      { address: this.options.address, stream, held, tls: Boolean(this.options.tls) },
      'subscribed to istio.workload.Address',
    );
  }

  #onResponse(call: DeltaStream, response: RawDeltaDiscoveryResponse): void {
    const protos = this.#protos as XdsProtos;
    const result = applyDeltaResponse(this.#state, response, {
      typeUrl: ADDRESS_TYPE_URL,
      decodeAddress: protos.decodeAddress,
    });
    if (!result.ok) {
      // a NACK belongs to the type URL of the response it answers (ADS walls types off)
      call.write(nackRequest(response.type_url || ADDRESS_TYPE_URL, response.nonce, result.error));
      this.#metrics?.response(typeUrlLabel(response.type_url), 'nack', 0);
      this.#logger.warn({ nonce: response.nonce, error: result.error }, 'rejected an xDS response (NACK); state kept');
      this.#emitSafely('nack', { nonce: response.nonce, error: result.error, rejected: [] });
      return;
    }
    const previous = this.#state;
    this.#state = result.state;
    const { rejected } = result;
    if (rejected.length > 0) {
      // the good resources are applied; the NACK names the others (Istiod sends them again only when they change)
      const error = rejectionDetail(rejected);
      call.write(nackRequest(ADDRESS_TYPE_URL, response.nonce, error));
      this.#metrics?.response(ADDRESS_TYPE_URL, 'nack', rejected.length);
      this.#logger.warn(
        { nonce: response.nonce, rejected: rejected.map((r) => r.name), error, upserted: result.upserted.length, removed: result.removed.length },
        'rejected resources of an xDS response (NACK); the others applied',
      );
      this.#emitSafely('nack', { nonce: response.nonce, error, rejected: rejected.map((r) => r.name) });
    } else {
      call.write(ackRequest(ADDRESS_TYPE_URL, response.nonce));
      this.#metrics?.response(ADDRESS_TYPE_URL, 'ack', 0);
      this.#logger.debug(
        { nonce: response.nonce, upserted: result.upserted.length, removed: result.removed.length },
        'applied an xDS response (ACK)',
      );
    }
    if (result.state === previous) return; // nothing of it applied
    this.#metrics?.resources(ADDRESS_TYPE_URL, result.state.resources.size);
    this.#emitSafely('change', {
      state: result.state,
      previous,
      upserted: result.upserted,
      removed: result.removed,
      nonce: response.nonce,
      systemVersionInfo: response.system_version_info,
    });
  }

  #emitSafely<K extends keyof DeltaAdsClientEvents>(event: K, ...args: DeltaAdsClientEvents[K]): void {
    try {
      (this.emit as (event: K, ...args: DeltaAdsClientEvents[K]) => boolean)(event, ...args);
    } catch (err) {
      this.#logger.error({ event, error: err instanceof Error ? err.message : String(err) }, 'an xDS event listener threw');
    }
  }

  #closeStream(): void {
    const call = this.#call;
    const client = this.#client;
    this.#call = undefined;
    this.#client = undefined;
    this.#connected = false;
    this.#metrics?.connection(false);
    call?.cancel();
    client?.close();
  }

  #scheduleReconnect(reason: string, answered: boolean): void {
    if (!this.#running) return;
    if (!answered) this.#metrics?.failed();
    const retryInMs = backoffDelay(this.#attempt, this.options.backoff, this.#random);
    this.#attempt += 1;
    this.#logger.warn({ address: this.options.address, reason, retryInMs }, 'xDS stream to Istiod down; keeping the last known state');
    this.#emitSafely('disconnected', { reason, retryInMs, answered });
    this.#timer = setTimeout(() => void this.#open(), retryInMs);
  }
}
