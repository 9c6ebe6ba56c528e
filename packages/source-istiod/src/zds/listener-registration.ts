/**
 * The registration socket for a cooperating proxy: a unix SOCK_SEQPACKET server where the proxy
 * hands over its HBONE listening socket. One request per message: the UTF-8 JSON `{"uid":"<pod
 * uid>"}` with exactly one fd (the listener) as SCM_RIGHTS. The answer is `{"ok":true}` or
 * `{"ok":false,"error":"..."}`. A connection may register any number of pods.
 */
import { closeSync } from 'node:fs';
import { type SeqpacketMessage, SeqpacketServer, type SeqpacketSocket } from '@bpfsteer/core-bpf';
import type { XdsLogger } from '../xds/delta-ads-client.js';
import type { Checked } from './zds-messages.js';

export interface RegistrationServerOptions {
  readonly path: string;
  /** default 0600, or 0660 with group */
  readonly mode?: number;
  readonly group?: number;
}

/** Takes the listener fd of pod `uid` (ownership passes on success); returns an error text to refuse. */
export type RegisterListener = (uid: string, fd: number) => string | undefined;

const MAX_REQUEST = 4096;

/** A registration request (pure). */
export function checkRegistration(message: {
  payload: Uint8Array;
  fdCount: number;
  fdsTruncated?: boolean;
  payloadTruncated?: boolean;
}): Checked<{ readonly uid: string }> {
  if (message.payloadTruncated) return { ok: false, error: `a registration is at most ${MAX_REQUEST} bytes` };
  if (message.fdsTruncated || message.fdCount !== 1) {
    return { ok: false, error: `a registration carries exactly one fd (the listening socket), got ${message.fdsTruncated ? 'more' : message.fdCount}` };
  }
  let value: unknown;
  try {
    value = JSON.parse(Buffer.from(message.payload).toString('utf8'));
  } catch {
    return { ok: false, error: 'a registration is the JSON object {"uid": "<pod uid>"}; this is not JSON' };
  }
  const uid = (value as { uid?: unknown } | null)?.uid;
  if (value === null || typeof value !== 'object' || Array.isArray(value) || typeof uid !== 'string' || uid.length === 0) {
    return { ok: false, error: 'a registration is the JSON object {"uid": "<pod uid>"} with a non-empty uid' };
  }
  return { ok: true, value: { uid } };
}

export class ListenerRegistrationServer {
  readonly #server: SeqpacketServer;
  readonly #register: RegisterListener;
  readonly #logger: XdsLogger;
  readonly #connections = new Set<SeqpacketSocket>();

  private constructor(server: SeqpacketServer, register: RegisterListener, logger: XdsLogger) {
    this.#server = server;
    this.#register = register;
    this.#logger = logger;
  }

  static listen(options: RegistrationServerOptions, register: RegisterListener, logger: XdsLogger): ListenerRegistrationServer {
    const server = SeqpacketServer.listen(options.path, {
      ...(options.mode !== undefined ? { mode: options.mode } : {}),
      ...(options.group !== undefined ? { group: options.group } : {}),
      connection: { maxFds: 1, maxPayload: MAX_REQUEST },
    });
    const self = new ListenerRegistrationServer(server, register, logger);
    server.start(
      (socket) => self.#accept(socket),
      (err) => logger.error({ path: options.path, error: String(err) }, 'listener registration: accept failed'),
    );
    return self;
  }

  get path(): string {
    return this.#server.path;
  }

  close(): void {
    this.#server.close();
    for (const c of this.#connections) c.close();
    this.#connections.clear();
  }

  #accept(socket: SeqpacketSocket): void {
    this.#connections.add(socket);
    socket.start({
      message: (m) => this.#handle(socket, m),
      end: () => this.#connections.delete(socket),
    });
  }

  #handle(socket: SeqpacketSocket, m: SeqpacketMessage): void {
    const checked = checkRegistration({ payload: m.payload, fdCount: m.fds.length, fdsTruncated: m.fdsTruncated, payloadTruncated: m.payloadTruncated });
    let error: string | undefined;
    if (!checked.ok) {
      error = checked.error;
      for (const fd of m.fds) closeSync(fd);
    } else {
      const fd = m.fds[0];
      try {
        error = this.#register(checked.value.uid, fd);
      } catch (err) {
        error = err instanceof Error ? err.message : String(err);
      }
      if (error !== undefined) closeSync(fd);
    }
    if (error !== undefined) this.#logger.warn({ error, uid: checked.ok ? checked.value.uid : undefined }, 'listener registration refused');
    const answer = error === undefined ? { ok: true } : { ok: false, error };
    socket.send(Buffer.from(JSON.stringify(answer))).catch(() => socket.close());
  }
}
