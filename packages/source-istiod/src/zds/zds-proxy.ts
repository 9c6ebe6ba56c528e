/**
 * The agent between the istio-cni node agent and the node proxy (ztunnel): it serves ZDS on
 * `listenPath` and relays each proxy connection to the node agent at `upstreamPath` (see
 * zds-session.ts), learning every pod and its network namespace on the way (`pods`, a
 * PodRegistry). An unmodified deployment gains bpfsteer by pointing the proxy's ZDS socket path at
 * `listenPath`.
 *
 * One proxy connection is relayed at a time: a new one replaces the old (a restarted proxy), whose
 * node-agent connection is closed too. The pods stay known across sessions; the next snapshot
 * reconciles them. stop() closes everything and forgets the pods (closing their netns fds).
 */
import { closeSync } from 'node:fs';
import { EventEmitter } from 'node:events';
import { ConfigError, issuesFromZod } from '@bpfsteer/agent-kernel';
import { SeqpacketServer, type SeqpacketSocket } from '@bpfsteer/core-bpf';
import type { XdsLogger } from '../xds/delta-ads-client.js';
import { PodRegistry } from './pod-registry.js';
import { type ZdsProxyOptions, type ZdsProxyOptionsInput, zdsProxyOptionsSchema } from './zds-proxy-options.js';
import { loadZdsProtos, type ZdsCodec } from './zds-protos.js';
import { ZdsSession } from './zds-session.js';

export interface ZdsProxyDeps {
  readonly logger?: XdsLogger;
  /** jitter source, [0, 1) */
  readonly random?: () => number;
  /** where the .proto files are (default: the package's `proto/`) */
  readonly protoDir?: string;
}

export interface ZdsProxyEvents {
  /** a proxy connection is relayed to the node agent */
  relaying: [{ readonly session: number }];
  /** a session ended (either side closed, or replaced) */
  'session-ended': [{ readonly session: number }];
}

const silentLogger: XdsLogger = { debug() {}, info() {}, warn() {}, error() {} };

export class ZdsProxy extends EventEmitter<ZdsProxyEvents> {
  readonly options: ZdsProxyOptions;
  /** the pods learned from the stream, with their netns fds */
  readonly pods: PodRegistry;
  readonly #logger: XdsLogger;
  readonly #random: () => number;
  readonly #codec: ZdsCodec;
  #server: SeqpacketServer | undefined;
  #session: ZdsSession | undefined;
  #nextId = 1;

  /** Throws a ConfigError naming every problem of `options`. */
  constructor(options: ZdsProxyOptionsInput, deps: ZdsProxyDeps = {}) {
    super();
    const parsed = zdsProxyOptionsSchema.safeParse(options);
    if (!parsed.success) throw new ConfigError(issuesFromZod(parsed.error, { input: options, schema: zdsProxyOptionsSchema }));
    this.options = parsed.data;
    this.#logger = deps.logger ?? silentLogger;
    this.#random = deps.random ?? Math.random;
    this.#codec = loadZdsProtos(deps.protoDir);
    this.pods = new PodRegistry({ closeFd: closeSync });
  }

  /** The session being relayed, if any (for diagnostics and tests). */
  get session(): { readonly id: number; readonly state: string } | undefined {
    return this.#session ? { id: this.#session.id, state: this.#session.state } : undefined;
  }

  /** Listen on `listenPath` (the socket file appears with its final permissions). */
  start(): void {
    if (this.#server) return;
    const { listenPath, socketMode, socketGroup, maxMessageBytes } = this.options;
    this.#server = SeqpacketServer.listen(listenPath, {
      ...(socketMode !== undefined ? { mode: socketMode } : {}),
      ...(socketGroup !== undefined ? { group: socketGroup } : {}),
      connection: { maxFds: 2, maxPayload: maxMessageBytes },
    });
    this.#server.start(
      (socket) => this.#accept(socket),
      (err) => this.#logger.error({ path: listenPath, error: String(err) }, 'zds: accepting a proxy connection failed'),
    );
    this.#logger.info({ listenPath, upstreamPath: this.options.upstreamPath }, 'zds proxy listening');
  }

  /** Close the listener and the session, forget every pod. */
  async stop(): Promise<void> {
    this.#server?.close();
    this.#server = undefined;
    this.#session?.close('the agent is stopping');
    this.#session = undefined;
    this.pods.clear();
  }

  #accept(socket: SeqpacketSocket): void {
    let peer = 'unknown';
    try {
      const cred = socket.peerCredentials();
      peer = `pid ${cred.pid} uid ${cred.uid}`;
    } catch {
      // the peer may already be gone
    }
    const previous = this.#session;
    const session = new ZdsSession(socket, {
      id: this.#nextId++,
      codec: this.#codec,
      registry: this.pods,
      logger: this.#logger,
      upstreamPath: this.options.upstreamPath,
      backoff: this.options.backoff,
      random: this.#random,
      maxMessageBytes: this.options.maxMessageBytes,
      onEnd: (s) => {
        if (this.#session === s) this.#session = undefined;
        this.emit('session-ended', { session: s.id });
      },
      onRelaying: (s) => this.emit('relaying', { session: s.id }),
    });
    this.#session = session;
    this.#logger.info({ session: session.id, peer }, 'zds: proxy connection accepted');
    previous?.close(`replaced by proxy connection ${session.id}`);
    session.start();
  }
}
