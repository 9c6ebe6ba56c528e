/**
 * The tunnel between nodes, the framing Istio ambient uses between nodes (HBONE):
 *
 * - outbound: a connection redirected to an outbound listener (plugin-connect-redirect) is carried
 *   to its destination's node as one HTTP/2 CONNECT stream (`:authority` = the original
 *   destination), over one mutual-TLS session per peer that multiplexes the streams;
 * - inbound: a CONNECT stream from a peer is connected to the destination it names, on this node.
 *
 * Bytes flow both ways with back-pressure (relay.ts) and half-close (one side's end ends the other's
 * write side). Every failure gives the client a reset (a peer unreachable, refusing the identity,
 * not answering in time; the destination refusing) and a counter and a log line; never a hang.
 */
import { connect as netConnect, createServer as createNetServer, type Server as NetServer, type Socket } from 'node:net';
import {
  type ClientHttp2Session,
  type ClientHttp2Stream,
  connect as h2Connect,
  constants as h2,
  createSecureServer,
  createServer as createH2Server,
  type Http2Server,
  type Http2Session,
  type Http2Stream,
  type Http2SecureServer,
  type IncomingHttpHeaders,
  type ServerHttp2Stream,
} from 'node:http2';
import type { TLSSocket } from 'node:tls';
import { originalDestination } from '@bpfsteer/core-bpf';
import { prefixContains, tryParseEndpoint, tryParseIp, tryParsePrefix, type IpPrefix } from '@bpfsteer/ip';
import { type Destination, formatAuthority, parseAuthority } from './connect-authority.js';
import { certificateIdentities, identityProblem } from './peer-identity.js';
import { readTlsMaterial, type TlsMaterial, watchTlsMaterial } from './tls-material.js';
import { tunnelConfigSchema, type TunnelConfig, type TunnelConfigInput } from './tunnel-config.js';
import { relay } from './relay.js';
import { emptyStats, type TunnelStats } from './tunnel-stats.js';

export interface TunnelLogger {
  info(obj: object, msg: string): void;
  warn(obj: object, msg: string): void;
  debug(obj: object, msg: string): void;
}

export interface TunnelOptions {
  readonly logger?: TunnelLogger;
  /**
   * The original destination of an accepted outbound connection. Default: getsockopt(SO_ORIGINAL_DST)
   * on its socket (answered by plugin-connect-redirect's getsockopt program on the tunnel's cgroup,
   * or by iptables REDIRECT).
   */
  readonly originalDestination?: (socket: Socket) => Destination | undefined;
  /** how often the TLS files are checked for a change (default 10 s) */
  readonly tlsCheckMs?: number;
}

/**
 * HTTP/2 flow control sized for a bulk TCP stream between nodes: nghttp2's default windows (64 KiB
 * per stream and per session) cap a stream at 64 KiB per round trip, a fraction of what the link
 * carries. Per stream 8 MiB, per session 32 MiB (both sides advertise them).
 */
const STREAM_WINDOW = 8 << 20;
const SESSION_WINDOW = 32 << 20;
const H2_SETTINGS = { initialWindowSize: STREAM_WINDOW };
/** MB of memory nghttp2 may hold per session (default 10): the windows above fit */
const MAX_SESSION_MEMORY = 96;

const silent: TunnelLogger = { info: () => undefined, warn: () => undefined, debug: () => undefined };

/** The original destination by getsockopt on the accepted socket's fd (node:net keeps it on its handle). */
function fromSocketOption(socket: Socket): Destination | undefined {
  const fd = (socket as unknown as { _handle?: { fd?: number } })._handle?.fd;
  if (typeof fd !== 'number' || fd < 0) return undefined;
  return originalDestination(fd, socket.localFamily === 'IPv6' ? 6 : 4);
}

interface Peer {
  readonly prefix: IpPrefix;
  readonly address: string;
}

export class Tunnel {
  readonly config: TunnelConfig;
  readonly #log: TunnelLogger;
  readonly #destinationOf: (socket: Socket) => Destination | undefined;
  readonly #stats = emptyStats();
  readonly #peers: Peer[];
  readonly #sessions = new Map<string, ClientHttp2Session>();
  /** the peers' sessions to the inbound listeners (a listener's close waits for them: stop ends them) */
  readonly #peerSessions = new Set<Http2Session>();
  readonly #outbound: NetServer[] = [];
  #inbound: (Http2SecureServer | Http2Server)[] = [];
  #material?: TlsMaterial;
  #stopWatching?: () => void;
  readonly #open = new Set<Socket>();
  readonly #tlsCheckMs: number;

  /** Throws a ZodError naming every problem of `config`. */
  constructor(config: TunnelConfigInput, options: TunnelOptions = {}) {
    this.config = tunnelConfigSchema.parse(config);
    this.#log = options.logger ?? silent;
    this.#destinationOf = options.originalDestination ?? fromSocketOption;
    this.#tlsCheckMs = options.tlsCheckMs ?? 10_000;
    this.#peers = this.config.peers.map((p) => ({ prefix: (tryParsePrefix(p.destination) as { value: IpPrefix }).value, address: p.address }));
  }

  get stats(): TunnelStats {
    return { ...this.#stats, open: this.#open.size };
  }

  /** open sessions to peers (one per peer) */
  get sessions(): number {
    return this.#sessions.size;
  }

  /** open sessions of peers to the inbound listeners */
  get peerSessions(): number {
    return this.#peerSessions.size;
  }

  /** the addresses the listeners are bound to (outbound first), with the ports the kernel chose for port 0 */
  get addresses(): { outbound: string[]; inbound: string[] } {
    const text = (s: NetServer | Http2Server | Http2SecureServer) => {
      const a = s.address();
      return a && typeof a === 'object' ? (a.family === 'IPv6' ? `[${a.address}]:${a.port}` : `${a.address}:${a.port}`) : '';
    };
    return { outbound: this.#outbound.map(text), inbound: this.#inbound.map(text) };
  }

  async start(): Promise<void> {
    const { tls } = this.config;
    if (tls !== false) {
      this.#material = readTlsMaterial(tls);
      this.#stopWatching = watchTlsMaterial(
        tls,
        this.#tlsCheckMs,
        (m) => {
          this.#material = m;
          for (const s of this.#inbound) (s as Http2SecureServer).setSecureContext?.({ cert: m.cert, key: m.key, ca: m.ca });
          this.#log.info({}, 'TLS material changed: new sessions use it');
        },
        (err) => this.#log.warn({ error: String(err) }, 'could not read the TLS material again; the last good one stays'),
      );
    }
    try {
      for (const text of this.config.inbound) this.#inbound.push(await this.#listenInbound(text));
      for (const text of this.config.outbound) this.#outbound.push(await this.#listenOutbound(text));
    } catch (err) {
      await this.stop();
      throw err;
    }
    this.#log.info(this.addresses, 'tunnel listening');
  }

  async stop(): Promise<void> {
    this.#stopWatching?.();
    for (const session of [...this.#sessions.values(), ...this.#peerSessions]) session.destroy();
    this.#sessions.clear();
    this.#peerSessions.clear();
    for (const socket of this.#open) socket.destroy();
    const close = (s: { close(cb: () => void): unknown }) => new Promise<void>((resolve) => s.close(() => resolve()));
    await Promise.all([...this.#outbound.splice(0), ...this.#inbound.splice(0)].map(close));
  }

  // --- outbound --------------------------------------------------------------------------------

  async #listenOutbound(text: string): Promise<NetServer> {
    const { address, port } = endpointOf(text);
    // half-open: the client's FIN half-closes the stream, the reply still comes back
    const server = createNetServer({ pauseOnConnect: true, allowHalfOpen: true }, (socket) => this.#carry(socket));
    await listen(server, address, port);
    return server;
  }

  #carry(socket: Socket): void {
    this.#stats.outboundAccepted += 1;
    this.#track(socket);
    socket.on('error', () => undefined); // a client reset; the stream is cancelled below
    let destination: Destination | undefined;
    try {
      destination = this.#destinationOf(socket);
    } catch (err) {
      this.#log.warn({ error: String(err) }, 'could not read the original destination');
    }
    if (!destination) {
      this.#stats.outboundNoDestination += 1;
      this.#log.warn({ client: `${socket.remoteAddress}:${socket.remotePort}` }, 'a connection without an original destination: reset');
      socket.resetAndDestroy();
      return;
    }
    const peer = this.#peerOf(destination);
    let stream: ClientHttp2Stream;
    try {
      stream = this.#session(peer).request({ ':method': 'CONNECT', ':authority': formatAuthority(destination) }, { endStream: false });
    } catch (err) {
      this.#failOutbound(socket, undefined, 'outboundPeerFailed', peer, destination, String(err));
      return;
    }
    const timer = setTimeout(() => this.#failOutbound(socket, stream, 'outboundPeerFailed', peer, destination, 'no answer in time'), this.config.connectTimeoutMs);
    timer.unref();
    stream.on('error', (err) => {
      clearTimeout(timer);
      this.#failOutbound(socket, stream, 'outboundPeerFailed', peer, destination, err.message);
    });
    stream.on('close', () => {
      clearTimeout(timer);
      // the peer reset the stream (the destination reset its side): so does the client
      if (stream.rstCode !== undefined && stream.rstCode !== h2.NGHTTP2_NO_ERROR && !socket.destroyed) socket.resetAndDestroy();
    });
    stream.on('response', (headers) => {
      clearTimeout(timer);
      const status = headers[':status'];
      if (status !== 200) {
        this.#failOutbound(socket, stream, 'outboundRefused', peer, destination, `the peer answered ${status}`);
        return;
      }
      this.#pipe(socket, stream, 'bytesOut', 'bytesIn');
    });
    socket.on('close', () => {
      if (!stream.closed) stream.close(h2.NGHTTP2_CANCEL);
    });
  }

  #failOutbound(socket: Socket, stream: ClientHttp2Stream | undefined, counter: 'outboundPeerFailed' | 'outboundRefused', peer: string, d: Destination, why: string): void {
    if (socket.destroyed) return;
    this.#stats[counter] += 1;
    this.#log.warn({ peer, destination: formatAuthority(d), why }, 'a redirected connection could not be carried: reset');
    socket.resetAndDestroy();
    if (stream && !stream.closed) stream.close(h2.NGHTTP2_CANCEL);
  }

  /** The peer tunnel of a destination: the first configured peer holding it, else the destination itself on peerPort. */
  #peerOf(d: Destination): string {
    const ip = tryParseIp(d.address);
    const found = ip.ok ? this.#peers.find((p) => prefixContains(p.prefix, ip.value)) : undefined;
    return found ? found.address : formatAuthority({ address: d.address, port: this.config.peerPort });
  }

  /** The one session to `peer`, made when there is none (or it is closing). */
  #session(peer: string): ClientHttp2Session {
    const held = this.#sessions.get(peer);
    if (held && !held.closed && !held.destroyed) return held;
    const { tls } = this.config;
    const material = this.#material;
    const session =
      tls === false
        ? h2Connect(`http://${peer}`, { settings: H2_SETTINGS, maxSessionMemory: MAX_SESSION_MEMORY })
        : h2Connect(`https://${peer}`, {
            settings: H2_SETTINGS,
            maxSessionMemory: MAX_SESSION_MEMORY,
            cert: material!.cert,
            key: material!.key,
            ca: material!.ca,
            // who the peer is: its certificate's identities against the allow-list (not its address)
            checkServerIdentity: (_host, certificate) => {
              const problem = identityProblem(certificateIdentities(certificate.subjectaltname), tls.allowedIdentities);
              return problem ? new Error(problem) : undefined;
            },
          });
    session.once('connect', () => session.setLocalWindowSize(SESSION_WINDOW));
    session.on('error', (err) => this.#log.warn({ peer, error: err.message }, 'session to the peer failed'));
    session.on('close', () => {
      if (this.#sessions.get(peer) === session) this.#sessions.delete(peer);
    });
    session.on('goaway', () => {
      if (this.#sessions.get(peer) === session) this.#sessions.delete(peer);
    });
    this.#sessions.set(peer, session);
    this.#stats.peerSessionsOpened += 1;
    return session;
  }

  // --- inbound ---------------------------------------------------------------------------------

  async #listenInbound(text: string): Promise<Http2SecureServer | Http2Server> {
    const { address, port } = endpointOf(text);
    const { tls } = this.config;
    const material = this.#material;
    const h2 = { settings: H2_SETTINGS, maxSessionMemory: MAX_SESSION_MEMORY };
    const server =
      tls === false
        ? createH2Server(h2)
        : createSecureServer({ ...h2, cert: material!.cert, key: material!.key, ca: material!.ca, requestCert: true, rejectUnauthorized: true });
    server.on('session', (session: Http2Session) => {
      session.setLocalWindowSize(SESSION_WINDOW);
      this.#peerSessions.add(session);
      session.once('close', () => this.#peerSessions.delete(session));
    });
    if (tls !== false) {
      server.on('session', (session: Http2Session) => {
        const certificate = (session.socket as TLSSocket).getPeerCertificate();
        const problem = identityProblem(certificateIdentities(certificate?.subjectaltname), tls.allowedIdentities);
        if (problem) {
          this.#stats.inboundIdentityRefused += 1;
          this.#log.warn({ peer: session.socket.remoteAddress, problem }, 'a peer session refused');
          session.destroy();
        }
      });
    }
    server.on('stream', (stream: ServerHttp2Stream, headers: IncomingHttpHeaders) => this.#deliver(stream, headers));
    await listen(server, address, port);
    return server;
  }

  #deliver(stream: ServerHttp2Stream, headers: IncomingHttpHeaders): void {
    this.#stats.inboundStreams += 1;
    stream.on('error', () => undefined);
    const answer = (status: number) => {
      if (!stream.headersSent && !stream.closed) stream.respond({ ':status': status }, { endStream: true });
    };
    if (headers[':method'] !== 'CONNECT') return answer(405);
    const destination = parseAuthority(headers[':authority']);
    if (!destination) return answer(400);
    const socket = netConnect({ host: destination.address, port: destination.port, allowHalfOpen: true });
    this.#track(socket);
    const timer = setTimeout(() => {
      this.#stats.inboundDialFailed += 1;
      socket.destroy();
      answer(504);
    }, this.config.connectTimeoutMs);
    timer.unref();
    socket.once('connect', () => {
      clearTimeout(timer);
      stream.respond({ ':status': 200 });
      this.#pipe(socket, stream, 'bytesIn', 'bytesOut');
    });
    socket.on('error', (err: NodeJS.ErrnoException) => {
      clearTimeout(timer);
      if (!stream.headersSent) {
        this.#stats.inboundDialFailed += 1;
        this.#log.debug({ destination: formatAuthority(destination), error: err.code ?? err.message }, 'destination not reached');
        answer(err.code === 'ECONNREFUSED' ? 502 : 504);
      } else if (!stream.closed) {
        stream.close(h2.NGHTTP2_CONNECT_ERROR); // the destination reset: so does the stream
      }
    });
    stream.on('close', () => {
      if (stream.rstCode !== undefined && stream.rstCode !== h2.NGHTTP2_NO_ERROR && !socket.destroyed) socket.resetAndDestroy();
    });
  }

  // --- both ------------------------------------------------------------------------------------

  /** Bytes both ways with back-pressure; each side's end half-closes the other. */
  #pipe(socket: Socket, stream: Http2Stream, fromSocket: 'bytesOut' | 'bytesIn', fromStream: 'bytesOut' | 'bytesIn'): void {
    relay(socket, stream, (n) => (this.#stats[fromSocket] += n));
    relay(stream, socket, (n) => (this.#stats[fromStream] += n));
    socket.resume();
  }

  #track(socket: Socket): void {
    this.#open.add(socket);
    socket.once('close', () => this.#open.delete(socket));
  }
}

function endpointOf(text: string): { address: string; port: number } {
  const r = tryParseEndpoint(text, { anyPort: true });
  if (!r.ok) throw r.error; // the schema refused it already
  return { address: r.value.address.text, port: r.value.port };
}

function listen(server: { listen(port: number, host: string, cb: () => void): unknown; once(e: 'error', cb: (err: Error) => void): unknown }, address: string, port: number): Promise<void> {
  return new Promise((resolve, reject) => {
    server.once('error', reject);
    server.listen(port, address, () => resolve());
  });
}
