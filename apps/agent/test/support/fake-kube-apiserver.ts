/**
 * A local HTTPS server speaking the part of the Kubernetes API the agent's node reporter uses, for
 * tests (no real API server can be installed on these machines). It behaves as kube-apiserver does
 * where the client could tell the difference:
 * - bearer-token authentication; failures are `Status` objects with the HTTP code
 *   (staging/src/k8s.io/apimachinery/pkg/api/errors/errors.go);
 * - one resourceVersion counter for every change; a list answers the latest objects and its
 *   resourceVersion; field selector `metadata.name=` on nodes;
 * - a watch sends `{type, object}` lines from the resourceVersion asked for; one older than what the
 *   server still keeps gets a single ERROR event with a 410 Expired Status and the stream ends, as the
 *   watch cache answers "too old resource version" (staging/src/k8s.io/apiserver/pkg/storage/cacher/
 *   watch_cache.go, and cacher.go's error watcher); the server may also end watches at any time (its
 *   request time-out);
 * - PATCH of nodes/status as a strategic merge patch merges `status.conditions` by `type`
 *   (k8s.io/api/core/v1 NodeStatus.Conditions: patchStrategy merge, patchMergeKey type); a merge
 *   patch replaces the list; other content types get 415;
 * - core/v1 Events: create (409 when the name exists), merge patch, get, list; an Event about a Node
 *   must be in namespace "default" (pkg/apis/core/validation/events.go).
 */
import { readFile } from 'node:fs/promises';
import { createServer, type Server } from 'node:https';
import type { IncomingMessage, ServerResponse } from 'node:http';
import type { AddressInfo } from 'node:net';
import { makeTestCa } from '@bpfsteer/netlab';

type Json = Record<string, unknown>;
type WatchType = 'ADDED' | 'MODIFIED' | 'DELETED';

export interface ApiRequest {
  readonly method: string;
  /** path and query */
  readonly url: string;
  readonly status: number;
}

interface Watcher {
  readonly res: ServerResponse;
  readonly name?: string;
}

/** The API server's certificate for 127.0.0.1 and the CA a pod trusts (its ca.crt), made with netlab's test CA. */
export async function makeServerCertificate(dir: string): Promise<{ key: string; cert: string; caFile: string; ca: string }> {
  const ca = makeTestCa(dir, 'kubernetes');
  const files = ca.issue('kube-apiserver', { ip: ['127.0.0.1'], dns: ['localhost'] });
  return { key: await readFile(files.keyFile, 'utf8'), cert: await readFile(files.certFile, 'utf8'), caFile: ca.caFile, ca: await readFile(ca.caFile, 'utf8') };
}

export class FakeKubeApiServer {
  readonly requests: ApiRequest[] = [];
  readonly nodes = new Map<string, Json>();
  /** by `<namespace>/<name>` */
  readonly events = new Map<string, Json>();
  #rv = 1000;
  /** the changes to nodes a watch can still be started from (the watch cache's window) */
  #history: { rv: number; type: WatchType; object: Json }[] = [];
  /** a watch from before this resourceVersion is too old (410) */
  #oldestRv = 1000;
  readonly #watchers = new Set<Watcher>();
  readonly #failures: { method: string; path: RegExp; status: number; times: number }[] = [];

  private constructor(
    readonly server: Server,
    readonly token: string,
  ) {}

  static async start(tls: { key: string; cert: string }, token: string): Promise<FakeKubeApiServer> {
    let fake!: FakeKubeApiServer;
    const server = createServer(tls, (req, res) => void fake.#handle(req, res));
    fake = new FakeKubeApiServer(server, token);
    await new Promise<void>((resolve) => server.listen(0, '127.0.0.1', resolve));
    return fake;
  }

  get port(): number {
    return (this.server.address() as AddressInfo).port;
  }

  /** the resourceVersion of the latest change */
  get resourceVersion(): number {
    return this.#rv;
  }

  /** Registers a Node (as the kubelet does), with a uid of its own. */
  addNode(name: string, conditions: Json[] = [{ type: 'Ready', status: 'True', reason: 'KubeletReady' }]): Json {
    const node: Json = {
      apiVersion: 'v1',
      kind: 'Node',
      metadata: { name, uid: `uid-${name}-${this.#rv + 1}`, creationTimestamp: new Date().toISOString() },
      status: { conditions },
    };
    this.#change('ADDED', node);
    return node;
  }

  deleteNode(name: string): void {
    const node = this.nodes.get(name);
    if (node) this.#change('DELETED', node);
  }

  /** Changes a Node as another writer would (e.g. the kubelet, or an admin's edit). */
  editNode(name: string, edit: (node: Json) => void): void {
    const node = structuredClone(this.nodes.get(name));
    if (!node) throw new Error(`no node ${name}`);
    edit(node);
    this.#change('MODIFIED', node);
  }

  /** The condition of `type` on the Node. */
  condition(name: string, type: string): Json | undefined {
    return ((this.nodes.get(name)?.status as Json | undefined)?.conditions as Json[] | undefined)?.find((c) => c.type === type);
  }

  /**
   * Writes elsewhere in the cluster (other objects' changes move the one resourceVersion counter),
   * then forgets the watch history up to now (as etcd compaction does): a watch from any version a
   * client holds gets 410.
   */
  compact(): void {
    this.#rv += 1;
    this.#history = [];
    this.#oldestRv = this.#rv;
  }

  /** Ends every open watch (the server's request time-out, or a restart of the server). */
  endWatches(): void {
    for (const w of this.#watchers) w.res.end();
    this.#watchers.clear();
  }

  get openWatches(): number {
    return this.#watchers.size;
  }

  /** The next `times` requests of `method` whose path matches get `status`. */
  failNext(method: string, path: RegExp, status: number, times = 1): void {
    this.#failures.push({ method, path, status, times });
  }

  async stop(): Promise<void> {
    this.endWatches();
    this.server.closeAllConnections();
    await new Promise<void>((resolve) => this.server.close(() => resolve()));
  }

  #change(type: WatchType, object: Json): void {
    this.#rv += 1;
    const stored = { ...object, metadata: { ...(object.metadata as Json), resourceVersion: String(this.#rv) } };
    const name = (stored.metadata as Json).name as string;
    if (type === 'DELETED') this.nodes.delete(name);
    else this.nodes.set(name, stored);
    this.#history.push({ rv: this.#rv, type, object: stored });
    for (const w of this.#watchers) if (w.name === undefined || w.name === name) send(w.res, type, stored);
  }

  async #handle(req: IncomingMessage, res: ServerResponse): Promise<void> {
    const url = new URL(req.url ?? '/', 'https://127.0.0.1');
    const method = req.method ?? 'GET';
    const answer = (status: number, body: Json): void => {
      this.requests.push({ method, url: `${url.pathname}${url.search}`, status });
      res.writeHead(status, { 'content-type': 'application/json' });
      res.end(JSON.stringify(body));
    };
    if (req.headers.authorization !== `Bearer ${this.token}`) return answer(401, status(401, 'Unauthorized', 'Unauthorized'));
    const failure = this.#failures.find((f) => f.method === method && f.path.test(url.pathname) && f.times > 0);
    if (failure) {
      failure.times -= 1;
      return answer(failure.status, status(failure.status, 'InternalError', 'injected failure'));
    }
    const body = method === 'POST' || method === 'PATCH' ? await readJson(req) : undefined;
    if (body instanceof Error) return answer(400, status(400, 'BadRequest', body.message));
    const contentType = req.headers['content-type'] ?? '';
    let m: RegExpMatchArray | null;

    if (url.pathname === '/api/v1/nodes' && method === 'GET') {
      const name = nameSelector(url.searchParams.get('fieldSelector'));
      if (url.searchParams.get('watch') === 'true') return this.#watch(url, name, res);
      const items = [...this.nodes.values()].filter((n) => name === undefined || (n.metadata as Json).name === name);
      return answer(200, { apiVersion: 'v1', kind: 'NodeList', metadata: { resourceVersion: String(this.#rv) }, items });
    }
    if ((m = url.pathname.match(/^\/api\/v1\/nodes\/([^/]+)(\/status)?$/))) {
      const node = this.nodes.get(decodeURIComponent(m[1]!));
      if (!node) return answer(404, status(404, 'NotFound', `nodes "${m[1]}" not found`));
      if (method === 'GET') return answer(200, node);
      if (method === 'PATCH' && m[2]) {
        const patch = body as Json;
        const strategic = contentType === 'application/strategic-merge-patch+json';
        if (!strategic && contentType !== 'application/merge-patch+json') {
          return answer(415, status(415, 'UnsupportedMediaType', `the body of the request was in an unknown format - accepted media types include: application/json-patch+json, application/merge-patch+json, application/apply-patch+yaml, application/strategic-merge-patch+json`));
        }
        const name = (node.metadata as Json).name as string;
        this.editNode(name, (n) => {
          const current = (n.status ?? {}) as Json;
          const update = (patch.status ?? {}) as Json;
          const conditions = strategic ? mergeByType((current.conditions ?? []) as Json[], (update.conditions ?? []) as Json[]) : update.conditions;
          n.status = { ...current, ...update, ...(conditions !== undefined && { conditions }) };
        });
        return answer(200, this.nodes.get(name)!);
      }
      return answer(405, status(405, 'MethodNotAllowed', 'the server does not allow this method on the requested resource'));
    }
    if ((m = url.pathname.match(/^\/api\/v1\/namespaces\/([^/]+)\/events(?:\/([^/]+))?$/))) {
      const namespace = decodeURIComponent(m[1]!);
      const name = m[2] && decodeURIComponent(m[2]);
      if (method === 'POST' && !name) {
        const event = body as Json;
        const meta = (event.metadata ?? {}) as Json;
        const involved = (event.involvedObject ?? {}) as Json;
        const problems = [
          ...(typeof meta.name === 'string' && meta.name ? [] : ['metadata.name: Required value']),
          ...(meta.namespace === undefined || meta.namespace === namespace ? [] : ['metadata.namespace: does not match the namespace of the request']),
          ...(involved.kind === 'Node' && namespace !== 'default' ? ['involvedObject.namespace: not allowed for node'] : []),
          ...(involved.kind === 'Node' && involved.namespace ? ['involvedObject.namespace: not allowed for node'] : []),
          ...(event.type === 'Normal' || event.type === 'Warning' ? [] : ['type: Unsupported value']),
          ...(typeof event.reason === 'string' && event.reason ? [] : ['reason: Required value']),
        ];
        if (problems.length) return answer(422, status(422, 'Invalid', `Event "${String(meta.name)}" is invalid: ${problems.join(', ')}`));
        const key = `${namespace}/${String(meta.name)}`;
        if (this.events.has(key)) return answer(409, status(409, 'AlreadyExists', `events "${String(meta.name)}" already exists`));
        this.#rv += 1;
        const stored = { ...event, metadata: { ...meta, namespace, resourceVersion: String(this.#rv), uid: `event-${this.#rv}` } };
        this.events.set(key, stored);
        return answer(201, stored);
      }
      if (method === 'GET' && !name) {
        return answer(200, { apiVersion: 'v1', kind: 'EventList', metadata: { resourceVersion: String(this.#rv) }, items: [...this.events.values()].filter((e) => (e.metadata as Json).namespace === namespace) });
      }
      const key = `${namespace}/${name}`;
      const event = this.events.get(key);
      if (!event) return answer(404, status(404, 'NotFound', `events "${name}" not found`));
      if (method === 'GET') return answer(200, event);
      if (method === 'PATCH') {
        if (contentType !== 'application/merge-patch+json' && contentType !== 'application/strategic-merge-patch+json') {
          return answer(415, status(415, 'UnsupportedMediaType', 'the body of the request was in an unknown format'));
        }
        this.#rv += 1;
        const patched = { ...event, ...(body as Json), metadata: { ...(event.metadata as Json), resourceVersion: String(this.#rv) } };
        this.events.set(key, patched);
        return answer(200, patched);
      }
    }
    return answer(404, status(404, 'NotFound', 'the server could not find the requested resource'));
  }

  #watch(url: URL, name: string | undefined, res: ServerResponse): void {
    const from = Number(url.searchParams.get('resourceVersion') || this.#rv);
    this.requests.push({ method: 'GET', url: `${url.pathname}${url.search}`, status: 200 });
    res.writeHead(200, { 'content-type': 'application/json', 'transfer-encoding': 'chunked' });
    if (from < this.#oldestRv) {
      // the watch cache no longer holds that version: one ERROR event, then the stream ends
      res.end(`${JSON.stringify({ type: 'ERROR', object: status(410, 'Expired', `too old resource version: ${from} (${this.#oldestRv})`) })}\n`);
      return;
    }
    for (const h of this.#history) {
      if (h.rv > from && (name === undefined || (h.object.metadata as Json).name === name)) send(res, h.type, h.object);
    }
    const watcher: Watcher = { res, ...(name !== undefined && { name }) };
    this.#watchers.add(watcher);
    res.on('close', () => this.#watchers.delete(watcher));
  }
}

function send(res: ServerResponse, type: string, object: Json): void {
  res.write(`${JSON.stringify({ type, object })}\n`);
}

function status(code: number, reason: string, message: string): Json {
  return { kind: 'Status', apiVersion: 'v1', metadata: {}, status: 'Failure', message, reason, code };
}

function nameSelector(selector: string | null): string | undefined {
  const m = selector?.match(/^metadata\.name=(.+)$/);
  return m ? m[1] : undefined;
}

function mergeByType(current: Json[], update: Json[]): Json[] {
  const merged = current.map((c) => ({ ...c, ...update.find((u) => u.type === c.type) }));
  return [...merged, ...update.filter((u) => !current.some((c) => c.type === u.type))];
}

async function readJson(req: IncomingMessage): Promise<Json | Error> {
  let text = '';
  for await (const chunk of req) text += String(chunk);
  try {
    return JSON.parse(text) as Json;
  } catch (err) {
    return err as Error;
  }
}
