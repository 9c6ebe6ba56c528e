/**
 * A fake Istiod for tests: a grpc-js server implementing DeltaAggregatedResources over this
 * package's protos. Tests push responses (snapshots, deltas, malformed ones), read every request
 * it received (ACKs, NACKs, initial_resource_versions, the authorization header) and drop streams.
 */
import {
  type ServerDuplexStream,
  Server,
  ServerCredentials,
  status as grpcStatus,
} from '@grpc/grpc-js';
import { parseIp } from '@bpfsteer/ip';
import { ADDRESS_TYPE_URL, type RawDeltaDiscoveryRequest } from '../../src/xds/xds-messages.js';
import { loadXdsProtos, type RawDeltaDiscoveryResponseInput } from '../../src/xds/xds-protos.js';

type AdsStream = ServerDuplexStream<RawDeltaDiscoveryRequest, RawDeltaDiscoveryResponseInput>;

/** An address text as Istio's NetworkAddress bytes (4 or 16, network order). */
const addressBytes = (text: string): Buffer => Buffer.from(parseIp(text).bytes);

export interface RecordedRequest {
  /** 1-based number of the stream it arrived on */
  readonly stream: number;
  /** the authorization header of that stream, if any */
  readonly authorization?: string;
  readonly request: RawDeltaDiscoveryRequest;
  /** 'subscribe' (no nonce), 'ack' (nonce, no error) or 'nack' (nonce and error_detail) */
  readonly role: 'subscribe' | 'ack' | 'nack';
}

export interface FakeWorkload {
  uid: string;
  addresses?: string[];
  name?: string;
  namespace?: string;
  node?: string;
  tunnelProtocol?: 'NONE' | 'HBONE' | 'LEGACY_ISTIO_MTLS';
  networkMode?: 'STANDARD' | 'HOST_NETWORK';
  network?: string;
  version?: string;
}

export type FakeResource = NonNullable<RawDeltaDiscoveryResponseInput['resources']>[number];

export interface FakeIstiodOptions {
  /** PEM server certificate and key: serve TLS instead of plaintext */
  readonly tls?: { readonly cert: Buffer; readonly key: Buffer };
}

export class FakeIstiod {
  readonly requests: RecordedRequest[] = [];
  readonly #server: Server;
  readonly #streams = new Map<number, AdsStream>();
  #streamCount = 0;
  #nonce = 0;
  #port = 0;
  #waiters: (() => void)[] = [];

  private constructor(server: Server) {
    this.#server = server;
  }

  static async start(options: FakeIstiodOptions = {}): Promise<FakeIstiod> {
    const protos = loadXdsProtos();
    const server = new Server();
    const fake = new FakeIstiod(server);
    server.addService(protos.adsService, {
      DeltaAggregatedResources: (call: AdsStream) => fake.#accept(call),
    });
    const credentials = options.tls
      ? ServerCredentials.createSsl(null, [{ private_key: options.tls.key, cert_chain: options.tls.cert }], false)
      : ServerCredentials.createInsecure();
    fake.#port = await new Promise<number>((resolve, reject) =>
      server.bindAsync('127.0.0.1:0', credentials, (err, port) => (err ? reject(err) : resolve(port))),
    );
    return fake;
  }

  get port(): number {
    return this.#port;
  }

  get address(): string {
    return `127.0.0.1:${this.#port}`;
  }

  /** number of streams opened so far */
  get streamCount(): number {
    return this.#streamCount;
  }

  /** numbers of the streams open now */
  get openStreams(): number[] {
    return [...this.#streams.keys()];
  }

  #accept(call: AdsStream): void {
    const stream = (this.#streamCount += 1);
    const authorization = call.metadata.get('authorization')[0]?.toString();
    this.#streams.set(stream, call);
    call.on('data', (request: RawDeltaDiscoveryRequest) => {
      const role = !request.response_nonce ? 'subscribe' : request.error_detail ? 'nack' : 'ack';
      this.requests.push({ stream, authorization, request, role });
      this.#notify();
    });
    const gone = () => {
      this.#streams.delete(stream);
      this.#notify();
    };
    call.on('end', () => {
      gone();
      call.end();
    });
    call.on('cancelled', gone);
    call.on('error', gone);
    this.#notify();
  }

  #notify(): void {
    const waiters = this.#waiters;
    this.#waiters = [];
    for (const wake of waiters) wake();
  }

  /** Resolves when `predicate` holds (checked after every event), rejects after `timeoutMs`. */
  async waitFor(predicate: () => boolean, what: string, timeoutMs = 5_000): Promise<void> {
    const deadline = Date.now() + timeoutMs;
    while (!predicate()) {
      const left = deadline - Date.now();
      if (left <= 0) throw new Error(`fake istiod: timed out waiting for ${what}`);
      await new Promise<void>((resolve) => {
        const timer = setTimeout(resolve, Math.min(left, 50));
        this.#waiters.push(() => {
          clearTimeout(timer);
          resolve();
        });
      });
    }
  }

  /** Waits for the request that answers `nonce` (ACK or NACK). */
  async answerTo(nonce: string, timeoutMs?: number): Promise<RecordedRequest> {
    await this.waitFor(() => this.requests.some((r) => r.request.response_nonce === nonce), `the answer to ${nonce}`, timeoutMs);
    return this.requests.find((r) => r.request.response_nonce === nonce) as RecordedRequest;
  }

  /** Waits until stream number `stream` has sent its subscribe request and returns it. */
  async subscription(stream: number, timeoutMs?: number): Promise<RecordedRequest> {
    const match = (r: RecordedRequest) => r.stream === stream && r.role === 'subscribe';
    await this.waitFor(() => this.requests.some(match), `the subscribe request of stream ${stream}`, timeoutMs);
    return this.requests.find(match) as RecordedRequest;
  }

  /**
   * Sends a response on the newest open stream (or `stream`); returns its nonce.
   * Defaults: type_url = the Address type URL, a fresh nonce.
   */
  push(response: RawDeltaDiscoveryResponseInput, stream?: number): string {
    const target = stream ?? Math.max(...this.#streams.keys());
    const call = this.#streams.get(target);
    if (!call) throw new Error(`fake istiod: no open stream ${stream ?? ''}`.trim());
    const nonce = response.nonce ?? `nonce-${(this.#nonce += 1)}`;
    call.write({ type_url: ADDRESS_TYPE_URL, ...response, nonce });
    return nonce;
  }

  /** Ends every open stream with UNAVAILABLE (as when Istiod restarts). */
  dropStreams(): void {
    for (const call of this.#streams.values()) {
      call.emit('error', { code: grpcStatus.UNAVAILABLE, details: 'dropped by the test' });
    }
    this.#streams.clear();
  }

  async stop(): Promise<void> {
    this.dropStreams();
    await new Promise<void>((resolve) => this.#server.tryShutdown(() => resolve()));
  }
}

/** An Address resource holding a workload, ready to push. */
export function workloadResource(workload: FakeWorkload): FakeResource {
  const protos = loadXdsProtos();
  const value = protos.encodeAddress({
    workload: {
      uid: workload.uid,
      name: workload.name ?? workload.uid,
      namespace: workload.namespace ?? 'default',
      addresses: (workload.addresses ?? []).map(addressBytes),
      node: workload.node ?? '',
      tunnel_protocol: workload.tunnelProtocol ?? 'HBONE',
      network_mode: workload.networkMode ?? 'STANDARD',
      network: workload.network ?? '',
    },
  });
  return {
    name: workload.uid,
    version: workload.version ?? '1',
    aliases: (workload.addresses ?? []).map((a) => `/${a}`),
    resource: { type_url: ADDRESS_TYPE_URL, value },
  };
}

/** An Address resource holding a service named "namespace/hostname". */
export function serviceResource(service: { namespace: string; hostname: string; addresses?: string[]; version?: string }): FakeResource {
  // an address "a.b.c.d/n" is a range: NetworkAddress.length (Istio 1.30+)
  const value = loadXdsProtos().encodeAddress({
    service: {
      name: service.hostname.split('.')[0],
      namespace: service.namespace,
      hostname: service.hostname,
      addresses: (service.addresses ?? []).map((a) => {
        const [ip, length] = a.split('/');
        return { network: '', address: addressBytes(ip!), ...(length !== undefined && { length: Number(length) }) };
      }),
      ports: [{ service_port: 80, target_port: 8080 }],
    },
  });
  return {
    name: `${service.namespace}/${service.hostname}`,
    version: service.version ?? '1',
    resource: { type_url: ADDRESS_TYPE_URL, value },
  };
}
