/**
 * One proxy connection relayed to the node agent: the proxy's ZdsHello opens a connection to the
 * node agent (retried with backoff while the proxy waits) and is forwarded; from then on every
 * WorkloadRequest goes down and every WorkloadResponse up, bytes and netns fd unchanged.
 *
 * Checked on the way: a request that does not decode, lacks a uid, has a missing/extra fd or an fd
 * that is not a network namespace is answered by the agent itself with an Ack error (to the node
 * agent, in order with the other answers) and not forwarded. A response from the proxy that does
 * not decode becomes an Ack error for the request it answers. The proxy never gets an Ack: it only
 * reads WorkloadRequests, and an Ack's bytes would decode as one.
 *
 * What passes through updates the pod registry: Add (with a duplicate of the netns fd) when it is
 * forwarded, confirmed or kept pending by the proxy's answer; Keep/Del/SnapshotSent as they pass
 * (the snapshot is this session's: sessions of several proxies may overlap). Either side closing
 * ends the session (the proxy reconnects and the node agent sends a fresh snapshot); nothing
 * learned is dropped by that.
 */
import { closeSync } from 'node:fs';
import { dupFd, netnsFdInode, type SeqpacketMessage, SeqpacketSocket } from '@bpfsteer/core-bpf';
import { type BackoffPolicy, backoffDelay } from '../xds/backoff.js';
import type { XdsLogger } from '../xds/delta-ads-client.js';
import { checkHello, checkRequest, checkResponse, describeRequest, type ZdsRequest } from './zds-messages.js';
import type { PodRegistry } from './pod-registry.js';
import type { ZdsCodec } from './zds-protos.js';
import { ReplyQueue } from './reply-queue.js';
import type { ZdsMetrics, ZdsRequestType } from '../istiod-metrics.js';

export type ZdsSessionState = 'hello' | 'connecting' | 'relaying' | 'closed';

export interface ZdsSessionContext {
  readonly id: number;
  readonly codec: ZdsCodec;
  readonly registry: PodRegistry;
  readonly logger: XdsLogger;
  readonly upstreamPath: string;
  readonly backoff: BackoffPolicy;
  readonly random: () => number;
  readonly maxMessageBytes: number;
  /** the proxy's process (SO_PEERCRED), when known */
  readonly proxyPid?: number;
  /** called once when the session ends */
  readonly onEnd: (session: ZdsSession) => void;
  /** the session reached `relaying` */
  readonly onRelaying?: (session: ZdsSession) => void;
  /** where the requests and the node agent's failed connects are counted (istiod-metrics.ts) */
  readonly metrics?: ZdsMetrics;
}

/** A request's type as bpfsteer_zds_requests_total labels it (the message's field name). */
const typeOf = (request: ZdsRequest): ZdsRequestType => (request.kind === 'snapshot-sent' ? 'snapshot_sent' : request.kind);

interface Forwarded {
  readonly request: ZdsRequest;
  readonly netnsInode?: bigint;
}

function closeFds(fds: readonly number[]): void {
  for (const fd of fds) {
    try {
      closeSync(fd);
    } catch {
      // already closed
    }
  }
}

export class ZdsSession {
  readonly id: number;
  readonly #ctx: ZdsSessionContext;
  readonly #down: SeqpacketSocket;
  #up: SeqpacketSocket | undefined;
  #state: ZdsSessionState = 'hello';
  #hello: Buffer | undefined;
  #attempt = 0;
  #timer: NodeJS.Timeout | undefined;
  readonly #replies = new ReplyQueue<Forwarded, Buffer>();

  constructor(downstream: SeqpacketSocket, ctx: ZdsSessionContext) {
    this.id = ctx.id;
    this.#down = downstream;
    this.#ctx = ctx;
  }

  get state(): ZdsSessionState {
    return this.#state;
  }

  start(): void {
    this.#down.start({
      message: (m) => this.#fromProxy(m),
      end: (error) => this.close(error ? `the proxy connection failed: ${error.message}` : 'the proxy closed the connection'),
    });
  }

  /** End the session (both connections). Idempotent. */
  close(reason: string): void {
    if (this.#state === 'closed') return;
    const was = this.#state;
    this.#state = 'closed';
    clearTimeout(this.#timer);
    this.#down.close();
    this.#up?.close();
    this.#ctx.registry.abandonSnapshot(this.id);
    const unanswered = this.#replies.abandon();
    for (const fwd of unanswered) this.#ctx.metrics?.request(typeOf(fwd.request), 'unanswered');
    this.#ctx.logger.info({ session: this.id, was, unanswered: unanswered.length }, `zds session ended: ${reason}`);
    this.#ctx.onEnd(this);
  }

  // ---- proxy -> agent

  #fromProxy(m: SeqpacketMessage): void {
    closeFds(m.fds); // nothing from the proxy carries fds
    const shape = { payload: m.payload, fdCount: m.fds.length, fdsTruncated: m.fdsTruncated, payloadTruncated: m.payloadTruncated };
    const log = this.#ctx.logger;
    if (this.#state === 'hello') {
      const hello = checkHello(this.#ctx.codec, shape);
      if (!hello.ok) {
        log.error({ session: this.id, error: hello.error }, 'zds: the proxy did not start with a valid ZdsHello; closing its connection');
        this.close('invalid ZdsHello');
        return;
      }
      log.info({ session: this.id, version: hello.value.version }, 'zds: proxy connected; connecting to the node agent');
      this.#hello = Buffer.from(m.payload);
      this.#state = 'connecting';
      this.#connect();
      return;
    }
    if (this.#state !== 'relaying') {
      log.warn({ session: this.id, state: this.#state }, 'zds: message from the proxy before the node agent is connected; dropped');
      return;
    }
    const response = checkResponse(this.#ctx.codec, shape);
    const answered = this.#replies.answer((fwd) => {
      if (!response.ok) {
        return this.#ctx.codec.encodeResponse({ ack: { error: `bpfsteer zds proxy: the proxy's answer was malformed: ${response.error}` } });
      }
      return Buffer.from(m.payload);
    });
    if (!answered) {
      log.warn({ session: this.id, error: response.ok ? undefined : response.error }, 'zds: answer from the proxy without a request waiting; dropped');
      return;
    }
    if (!response.ok) log.error({ session: this.id, request: describeRequest(answered.request), error: response.error }, 'zds: malformed answer from the proxy');
    this.#ctx.metrics?.request(typeOf(answered.request), response.ok && !response.value.error ? 'ok' : 'refused');
    this.#applyAnswer(answered, response.ok ? response.value.error : response.error);
    this.#flushReplies();
  }

  #applyAnswer(fwd: Forwarded, error: string): void {
    const { registry, logger } = this.#ctx;
    const r = fwd.request;
    if (r.kind !== 'add' || fwd.netnsInode === undefined) {
      if (error) logger.warn({ session: this.id, request: describeRequest(r), error }, 'zds: the proxy refused a request');
      return;
    }
    if (error) {
      const outcome = registry.reject(r.uid, fwd.netnsInode);
      logger.warn(
        { session: this.id, request: describeRequest(r), error, outcome },
        outcome === 'pending'
          ? 'zds: the proxy refused an AddWorkload; the pod is kept pending (the proxy retries by itself; its listener is looked for)'
          : 'zds: the proxy refused an AddWorkload',
      );
    } else {
      registry.confirm(r.uid, fwd.netnsInode, this.#ctx.proxyPid);
    }
  }

  // ---- node agent -> agent

  #connect(): void {
    if (this.#state !== 'connecting') return;
    const { logger, upstreamPath } = this.#ctx;
    let up: SeqpacketSocket;
    try {
      up = SeqpacketSocket.connect(upstreamPath, { maxFds: 2, maxPayload: this.#ctx.maxMessageBytes });
    } catch (err) {
      const delay = backoffDelay(this.#attempt++, this.#ctx.backoff, this.#ctx.random);
      this.#ctx.metrics?.nodeAgentConnectFailed();
      logger.warn({ session: this.id, path: upstreamPath, attempt: this.#attempt, retryInMs: delay, error: String(err) }, 'zds: cannot reach the node agent; retrying');
      this.#timer = setTimeout(() => this.#connect(), delay);
      return;
    }
    this.#up = up;
    up.start({
      message: (m) => this.#fromNodeAgent(m),
      end: (error) => this.close(error ? `the node agent connection failed: ${error.message}` : 'the node agent closed the connection'),
    });
    this.#state = 'relaying';
    this.#ctx.registry.beginSnapshot(this.id);
    up.send(this.#hello!).catch((err) => this.close(`forwarding ZdsHello failed: ${String(err)}`));
    logger.info({ session: this.id, path: upstreamPath }, 'zds: relaying between the proxy and the node agent');
    this.#ctx.onRelaying?.(this);
  }

  #fromNodeAgent(m: SeqpacketMessage): void {
    if (this.#state !== 'relaying') {
      closeFds(m.fds);
      return;
    }
    const { codec, logger } = this.#ctx;
    const checked = checkRequest(codec, {
      payload: m.payload,
      fdCount: m.fds.length,
      fdsTruncated: m.fdsTruncated,
      payloadTruncated: m.payloadTruncated,
    });
    if (!checked.ok) {
      closeFds(m.fds);
      this.#refuse(checked.error, 'unknown');
      return;
    }
    const request = checked.value;
    let netnsInode: bigint | undefined;
    if (request.kind === 'add') {
      const fd = m.fds[0];
      let dup: number;
      try {
        netnsInode = netnsFdInode(fd, `the fd of AddWorkload ${request.uid}`);
        dup = dupFd(fd, `keep the netns of pod ${request.uid}`);
      } catch (err) {
        closeFds(m.fds);
        this.#refuse(err instanceof Error ? err.message : String(err), 'add');
        return;
      }
      const outcome = this.#ctx.registry.add(request, dup, netnsInode);
      logger.info({ session: this.id, uid: request.uid, pod: `${request.namespace}/${request.name}`, outcome }, 'zds: AddWorkload');
    } else if (request.kind === 'del') {
      const known = this.#ctx.registry.del(request.uid);
      logger.info({ session: this.id, uid: request.uid, known }, 'zds: DelWorkload');
    } else if (request.kind === 'keep') {
      const known = this.#ctx.registry.keep(request.uid);
      if (!known) logger.info({ session: this.id, uid: request.uid }, 'zds: KeepWorkload of a pod this agent does not know (no netns fd); forwarded');
    } else {
      const gone = this.#ctx.registry.endSnapshot(this.id);
      logger.info({ session: this.id, removed: gone.map((p) => p.uid) }, 'zds: SnapshotSent');
    }
    this.#replies.forwarded({ request, ...(netnsInode !== undefined ? { netnsInode } : {}) });
    this.#down
      .send(m.payload, m.fds)
      .catch((err) => this.close(`forwarding ${describeRequest(request)} to the proxy failed: ${String(err)}`));
    closeFds(m.fds); // send() holds its own duplicates
  }

  #refuse(error: string, type: ZdsRequestType): void {
    this.#ctx.metrics?.request(type, 'invalid');
    this.#ctx.logger.error({ session: this.id, error }, 'zds: malformed request from the node agent; answered with an Ack error, not forwarded');
    this.#replies.local(this.#ctx.codec.encodeResponse({ ack: { error: `bpfsteer zds proxy: ${error}` } }));
    this.#flushReplies();
  }

  #flushReplies(): void {
    const up = this.#up;
    if (!up) return;
    for (const reply of this.#replies.ready()) {
      up.send(reply).catch((err) => this.close(`answering the node agent failed: ${String(err)}`));
    }
  }
}
