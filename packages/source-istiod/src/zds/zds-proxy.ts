/**
 * The agent between the istio-cni node agent and the node proxy (ztunnel): it serves ZDS on
 * `listenPath` and relays each proxy connection to the node agent at `upstreamPath` (see
 * zds-session.ts), learning every pod and its network namespace on the way (`pods`, a
 * PodRegistry). An unmodified deployment gains bpfsteer by pointing the proxy's ZDS socket path at
 * `listenPath`.
 *
 * Every proxy connection is relayed on its own node-agent connection, as istio-cni serves several
 * ztunnels at once (istio/istio cni/pkg/nodeagent/ztunnelserver.go: each connection gets its own
 * snapshot, new pods go to the newest one, deletions to all): during a rolling update of the proxy
 * (maxSurge 1, maxUnavailable 0) the old and the new one are both connected until the old one
 * leaves, and neither session disturbs the other (fds, answers and their order are per session).
 * The pods stay known across sessions; each session's snapshot reconciles them. stop() closes
 * everything and forgets the pods (closing their netns fds).
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
import type { ZdsMetrics } from '../istiod-metrics.js';

export interface ZdsProxyDeps {
  readonly logger?: XdsLogger;
  /** jitter source, [0, 1) */
  readonly random?: () => number;
  /** where the .proto files are (default: the package's `proto/`) */
  readonly protoDir?: string;
  /** where the connections and requests are counted (istiod-metrics.ts) */
  readonly metrics?: ZdsMetrics;
}

export interface ZdsProxyEvents {
  /** a proxy connection is relayed to the node agent */
  relaying: [{ readonly session: number }];
  /** a session ended (either side closed) */
  'session-ended': [{ readonly session: number }];
}

/**
 * Proxy connections relayed at once: a rolling update has two; more means a proxy that reconnects
 * without closing (each one holds a node-agent connection and its netns fds), refused beyond this.
 */
export const MAX_ZDS_SESSIONS = 8;

const silentLogger: XdsLogger = { debug() {}, info() {}, warn() {}, error() {} };

export class ZdsProxy extends EventEmitter<ZdsProxyEvents> {
  readonly options: ZdsProxyOptions;
  /** the pods learned from the stream, with their netns fds */
  readonly pods: PodRegistry;
  readonly #logger: XdsLogger;
  readonly #random: () => number;
  readonly #codec: ZdsCodec;
  readonly #metrics?: ZdsMetrics;
  #server: SeqpacketServer | undefined;
  /** the sessions open, oldest first */
  readonly #sessions = new Set<ZdsSession>();
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
    if (deps.metrics) this.#metrics = deps.metrics;
    this.pods = new PodRegistry({ closeFd: closeSync });
  }

  /** The newest session, if any (for diagnostics and tests). */
  get session(): { readonly id: number; readonly state: string } | undefined {
    return this.sessions.at(-1);
  }

  /** Every session open, oldest first. */
  get sessions(): { readonly id: number; readonly state: string }[] {
    return [...this.#sessions].map((s) => ({ id: s.id, state: s.state }));
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
    for (const session of [...this.#sessions]) session.close('the agent is stopping');
    this.#sessions.clear();
    this.pods.clear();
  }

  #accept(socket: SeqpacketSocket): void {
    if (this.#sessions.size >= MAX_ZDS_SESSIONS) {
      this.#logger.error({ open: this.#sessions.size }, `zds: a proxy connection beyond ${MAX_ZDS_SESSIONS} open at once; closed`);
      this.#metrics?.proxyConnection('refused');
      socket.close();
      return;
    }
    this.#metrics?.proxyConnection('accepted');
    let peer = 'unknown';
    let proxyPid: number | undefined;
    try {
      const cred = socket.peerCredentials();
      peer = `pid ${cred.pid} uid ${cred.uid}`;
      if (cred.pid > 0) proxyPid = cred.pid;
    } catch {
      // the peer may already be gone
    }
    const session = new ZdsSession(socket, {
      id: this.#nextId++,
      codec: this.#codec,
      registry: this.pods,
      logger: this.#logger,
      upstreamPath: this.options.upstreamPath,
      backoff: this.options.backoff,
      random: this.#random,
      maxMessageBytes: this.options.maxMessageBytes,
      ...(proxyPid !== undefined && { proxyPid }),
      ...(this.#metrics && { metrics: this.#metrics }),
      onEnd: (s) => {
        this.#sessions.delete(s);
        this.emit('session-ended', { session: s.id });
      },
      onRelaying: (s) => this.emit('relaying', { session: s.id }),
    });
    this.#sessions.add(session);
    this.#logger.info({ session: session.id, peer, open: this.#sessions.size }, 'zds: proxy connection accepted');
    session.start();
  }
}
