/**
 * A fake istio-cni node agent for the kernel tests: a ZDS server on a unix SOCK_SEQPACKET socket.
 * Each connection's first message is the proxy's hello; then the test sends WorkloadRequests one at
 * a time (like the node agent, waiting for each Ack), AddWorkload with a REAL netns fd.
 */
import { closeSync, openSync } from 'node:fs';
import { type SeqpacketMessage, SeqpacketServer, type SeqpacketSocket } from '@bpfsteer/core-bpf';
import { loadZdsProtos, type WorkloadRequestInput } from '../../src/zds/zds-protos.js';

const codec = loadZdsProtos();

export interface CniAck {
  readonly error: string;
  /** the bytes received */
  readonly raw: Buffer;
}

export class FakeCniConnection {
  readonly hello: Promise<Buffer>;
  readonly ended: Promise<void>;
  readonly #socket: SeqpacketSocket;
  readonly #waiting: Array<(ack: CniAck) => void> = [];
  #chain: Promise<unknown> = Promise.resolve();
  #helloResolve!: (b: Buffer) => void;
  /** messages that came with fds, or answers nobody waited for */
  readonly unexpected: string[] = [];

  constructor(socket: SeqpacketSocket) {
    this.#socket = socket;
    this.hello = new Promise((resolve) => (this.#helloResolve = resolve));
    let endResolve!: () => void;
    this.ended = new Promise((resolve) => (endResolve = resolve));
    let first = true;
    socket.start({
      message: (m: SeqpacketMessage) => {
        for (const fd of m.fds) closeSync(fd);
        if (m.fds.length) this.unexpected.push(`message with ${m.fds.length} fd(s)`);
        if (first) {
          first = false;
          this.#helloResolve(m.payload);
          return;
        }
        const w = this.#waiting.shift();
        if (!w) {
          this.unexpected.push(`unsolicited ${m.payload.toString('hex')}`);
          return;
        }
        let error: string;
        try {
          error = codec.decodeResponse(m.payload).ack?.error ?? '<no ack>';
        } catch (err) {
          error = `<undecodable: ${String(err)}>`;
        }
        w({ error, raw: m.payload });
      },
      end: () => endResolve(),
    });
  }

  /** Send raw bytes with fds and wait for the answer (requests go one at a time). */
  sendRaw(payload: Uint8Array, fds: readonly number[] = []): Promise<CniAck> {
    const next = this.#chain.then(
      () =>
        new Promise<CniAck>((resolve, reject) => {
          this.#waiting.push(resolve);
          this.#socket.send(payload, fds).catch(reject);
        }),
    );
    this.#chain = next.catch(() => undefined);
    return next;
  }

  request(request: WorkloadRequestInput, fds: readonly number[] = []): Promise<CniAck> {
    return this.sendRaw(codec.encodeRequest(request), fds);
  }

  /** AddWorkload with the netns at `netnsPath` (opened for the send, closed after). */
  async add(uid: string, netnsPath: string, name = uid, namespace = 'default'): Promise<CniAck> {
    const fd = openSync(netnsPath, 'r');
    try {
      return await this.request({ add: { uid, workload_info: { name, namespace, service_account: 'default' } } }, [fd]);
    } finally {
      closeSync(fd);
    }
  }

  del(uid: string): Promise<CniAck> {
    return this.request({ del: { uid } });
  }

  keep(uid: string): Promise<CniAck> {
    return this.request({ keep: { uid } });
  }

  snapshotSent(): Promise<CniAck> {
    return this.request({ snapshot_sent: {} });
  }

  close(): void {
    this.#socket.close();
  }
}

export class FakeIstioCni {
  readonly path: string;
  readonly connections: FakeCniConnection[] = [];
  readonly #server: SeqpacketServer;
  readonly #waiters: Array<(c: FakeCniConnection) => void> = [];
  #handed = 0;

  private constructor(path: string, server: SeqpacketServer) {
    this.path = path;
    this.#server = server;
  }

  static listen(path: string): FakeIstioCni {
    const server = SeqpacketServer.listen(path, { connection: { maxFds: 4 } });
    const cni = new FakeIstioCni(path, server);
    server.start((socket) => {
      const c = new FakeCniConnection(socket);
      cni.connections.push(c);
      const waiter = cni.#waiters.shift();
      if (waiter) {
        cni.#handed += 1;
        waiter(c);
      }
    });
    return cni;
  }

  /** The next connection not yet handed out by this method. */
  nextConnection(timeoutMs = 10_000): Promise<FakeCniConnection> {
    const ready = this.connections[this.#handed];
    if (ready) {
      this.#handed += 1;
      return Promise.resolve(ready);
    }
    return new Promise((resolve, reject) => {
      const timer = setTimeout(() => reject(new Error('no connection to the fake istio-cni in time')), timeoutMs);
      this.#waiters.push((c) => {
        clearTimeout(timer);
        resolve(c);
      });
    });
  }

  close(): void {
    this.#server.close();
    for (const c of this.connections) c.close();
  }
}
