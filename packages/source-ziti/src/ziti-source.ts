/**
 * The `ziti` source: the rules an OpenZiti router inserts through bpfsteer-diverter (or the HTTP
 * API directly), published as `tproxy.rule` / `tproxy.interface` intents.
 *
 * ```yaml
 * sources:
 *   - type: ziti
 *     socket: /run/bpfsteer/ziti.sock          # default
 *     stateFile: /var/lib/bpfsteer/ziti-rules.json   # default
 * ```
 *
 * listen: serve the API on the unix socket at once (taking the socket over from a running agent when
 * the agent takes over); health answers `loading` and requests that change rules wait.
 * start: read the state file in slices and commit it (an agent restart re-publishes the same rules),
 * then serve on TCP with a bearer token when configured. A state file that cannot be read stops the
 * API again and fails the start (nothing is published).
 */
import type { FastifyInstance } from 'fastify';
import { type CommitResult, listenUnixSocket, readTokenFile, type UnixSocketPath, type IntentSink, type IntentSource, type SourceContext, type SourceFactory, type ContainerModule, sourceModule } from '@bpfsteer/agent-kernel';
import { createApi } from './api/lazy-api.js';
import { TPROXY_INTERFACE_KIND as INTERFACE_KIND, TPROXY_RULE_KIND as RULE_KIND } from '@bpfsteer/contract-tproxy';
import { ZitiSourceError, errorMessage } from './errors.js';
import { StateFile } from './state-file.js';
import { zitiSourceConfigSchema, type ZitiSourceConfig } from './ziti-source-config.js';
import { ZitiService } from './ziti-service.js';
import { emptyState } from './rule-store.js';
import { DiverterSpool } from './diverter-spool.js';
import { RouterGenerations } from './router-generations.js';
import { generationsFile, readGenerations, writeGenerations } from './router-generations-file.js';
import { RouterConfigWatch } from './router-config-watch.js';
import { runCollected } from './diverter/forwarded-call.js';
import { inProcessCalls } from './api/in-process-calls.js';
import { zitiMetrics, type ZitiMetrics } from './ziti-metrics.js';

/** The API on the unix socket `socketPath` (0600; see agent-kernel's listenUnixSocket). */
async function listenOnSocket(app: FastifyInstance, socketPath: string, takeOver: boolean): Promise<UnixSocketPath> {
  try {
    return await listenUnixSocket(socketPath, async (temp) => void (await app.listen({ path: temp })), {
      refuse: (detail) => new ZitiSourceError('ERR_ZITI_SOCKET', `ziti API socket ${socketPath}: ${detail}`),
      holder: 'another agent',
      takeOver,
    });
  } catch (err) {
    if (err instanceof ZitiSourceError) throw err;
    throw new ZitiSourceError('ERR_ZITI_SOCKET', `cannot listen on ${socketPath}: ${errorMessage(err)}`, { cause: err });
  }
}

/** The TCP listener's bearer token (agent-kernel's token file rules), its problems as this source's errors. */
async function zitiToken(file: string): Promise<string> {
  try {
    return await readTokenFile(file);
  } catch (err) {
    throw new ZitiSourceError('ERR_ZITI_TOKEN_FILE', errorMessage(err), { cause: err });
  }
}

class ZitiSource implements IntentSource {
  readonly #config: ZitiSourceConfig;
  readonly #context: SourceContext<ZitiSourceConfig>;
  #apps: FastifyInstance[] = [];
  #socket?: UnixSocketPath;
  #service?: ZitiService;
  #stateFile?: StateFile;
  #spool?: DiverterSpool;
  #router?: RouterGenerations;
  #routerConfig?: RouterConfigWatch;
  /** the commit of the saved rules, queued at listen; it reads the state file once start lets it */
  #loaded?: Promise<CommitResult>;
  #letLoad?: (go: boolean) => void;
  /** the bearer token of the TCP API (read at listen: a missing file fails before anything is taken over) */
  #token: string | undefined;
  /** its Prometheus series (ziti-metrics.ts), made at listen */
  #metrics?: ZitiMetrics;

  constructor(config: ZitiSourceConfig, context: SourceContext<ZitiSourceConfig>) {
    this.#config = config;
    this.#context = context;
  }

  /** The service behind the API (for tests and diagnostics). */
  get service(): ZitiService | undefined {
    return this.#service;
  }

  async listen(sink: IntentSink): Promise<void> {
    const { logger } = this.#context;
    const config = this.#config;
    const token = config.tcp ? await zitiToken(config.tcp.tokenFile) : undefined;
    const service = new ZitiService({
      sink,
      context: this.#context,
      logger,
      initial: emptyState,
      persist: (state, prepared) => this.#stateFile!.save(state, prepared),
      preparePersist: (state) => this.#stateFile!.prepare(state),
      allowedInterfaces: config.interfaces,
    });
    this.#service = service;
    // first in the service's queue: requests that change rules wait for the saved ones, which are
    // read once start() runs (after a previous agent handed over: the state file is ours then)
    const go = new Promise<boolean>((resolve) => (this.#letLoad = resolve));
    this.#loaded = service.load(async () => {
      if (!(await go)) throw new ZitiSourceError('ERR_ZITI_STOPPED', 'the source stopped before it started');
      const { stateFile, state } = await StateFile.open(config.stateFile, logger);
      this.#stateFile = stateFile;
      return state;
    });
    this.#loaded.catch(() => undefined); // awaited by start
    try {
      await this.#listenLocal(service);
    } catch (err) {
      await this.stop();
      throw err;
    }
    this.#token = token;
  }

  async start(sink: IntentSink): Promise<void> {
    if (this.#service === undefined) await this.listen(sink);
    const { logger } = this.#context;
    const config = this.#config;
    this.#letLoad!(true);
    try {
      // the API answered meanwhile (health: loading) while the saved rules are read and published
      const published = await this.#loaded!;
      const rules = this.#service!.state.rules.size;
      if (published.ok) logger.info({ rules, stateFile: config.stateFile }, 'published the saved ziti rules');
      else logger.error({ reason: published.reason, error: published.error }, 'the saved ziti rules were not applied; serving anyway');
      // calls the native client kept while no agent answered: after the saved rules, in order
      await this.#spool!.start();
      if (config.routerConfig) {
        this.#routerConfig = new RouterConfigWatch(config.routerConfig, this.#service!, logger);
        await this.#routerConfig.start();
      }
      await this.#listenTcp(this.#service!);
    } catch (err) {
      await this.#loaded!.catch(() => undefined); // nothing of the start goes on after it failed
      await this.stop();
      throw err;
    }
  }

  async #listenLocal(service: ZitiService): Promise<void> {
    const { logger } = this.#context;
    const config = this.#config;
    const file = generationsFile(config.stateFile);
    const router = new RouterGenerations({
      graceMs: config.routerRestartGraceMs,
      saved: await readGenerations(file, (why) => logger.warn(`router generations not restored: ${why}`)),
      // not once another agent took the socket over: the file is its own then
      save: async (snapshot) => {
        if (this.#socket !== undefined && !(await this.#socket.holds().catch(() => true))) return;
        await writeGenerations(file, snapshot).catch((err: unknown) => logger.warn({ err }, `could not save the router generations: ${errorMessage(err)}`));
      },
      rules: () => service.state.rules.values(),
      sweep: async (select) => {
        const removed = await service.sweep(select).catch((err: unknown) => {
          logger.error({ err }, `could not remove the rules of services the restarted router no longer has: ${errorMessage(err)}`);
          return 0;
        });
        if (removed > 0) logger.info({ removed }, 'removed the rules of services the restarted router did not insert again');
      },
    });
    this.#router = router;
    // the kept calls run through the unix API in-process (created next: the spool is one of its routes' inputs)
    let local: FastifyInstance | undefined;
    const metrics = (this.#metrics ??= zitiMetrics(this.#context.metrics));
    const spool = new DiverterSpool({ dir: config.spool, logger, metrics, run: (call) => runCollected(call, inProcessCalls(local!, service), router) });
    this.#spool = spool;
    local = await createApi({ service, logger: logger.child({ api: 'unix' }), limits: config.http, spool, router, metrics });
    this.#apps.push(local);
    this.#socket = await listenOnSocket(local, config.socket, this.#context.takeOver ?? false);
    if (this.#socket.replaced === 'stale') logger.info({ socket: config.socket }, 'replaced a stale ziti API socket');
    if (this.#socket.replaced === 'live') logger.info({ socket: config.socket }, 'took the ziti API socket over from the running agent');
    logger.info({ socket: config.socket }, 'ziti API listening');
  }

  /** The API on TCP (bearer token), when configured: after the state is loaded (a previous agent held the port until it exited). */
  async #listenTcp(service: ZitiService): Promise<void> {
    const { logger } = this.#context;
    const config = this.#config;
    const token = this.#token;
    if (config.tcp && token) {
      // no router watch on TCP: a caller's pid means something on this host only (the native client speaks the unix socket)
      const remote = await createApi({ service, logger: logger.child({ api: 'tcp' }), token, limits: config.http, spool: this.#spool, metrics: this.#metrics });
      this.#apps.push(remote);
      await remote.listen({ host: config.tcp.host, port: config.tcp.port });
      logger.info({ host: config.tcp.host, port: config.tcp.port }, 'ziti API listening on TCP (bearer token required)');
    }
  }

  /** A reload (SIGHUP): the router config is read again (the rules themselves are the API's). */
  async reload(): Promise<void> {
    await this.#routerConfig?.read();
  }

  async stop(): Promise<void> {
    this.#letLoad?.(false); // a load still waiting for start() ends
    await this.#spool?.stop();
    this.#routerConfig?.stop();
    const apps = this.#apps.splice(0);
    await Promise.all(apps.map((app) => app.close()));
    await this.#router?.stop(); // saved once no call comes any more
    await this.#socket?.release(); // unless a new agent took the path over
    this.#socket = undefined;
    await this.#stateFile?.close(); // a background compaction ends
  }
}

export const zitiSource: SourceFactory<ZitiSourceConfig> = {
  type: 'ziti',
  description: 'tproxy rules from OpenZiti routers: HTTP API on a unix socket and the bpfsteer-diverter CLI',
  configSchema: zitiSourceConfigSchema,
  // the saved rules are committed at start; a restart never applies an empty rule set first
  produces: [RULE_KIND, INTERFACE_KIND],
  // the paths it owns: the agent refuses a config giving one of them to another owner too
  claims: (config) => [
    { path: config.socket, what: 'API socket', field: ['socket'] },
    { path: config.stateFile, what: 'state file', field: ['stateFile'] },
    { path: config.spool, what: 'diverter spool', field: ['spool'] },
  ],
  create: (config, context) => new ZitiSource(config, context),
};

/** This source as a container module: `createAgent({ modules: [zitiSourceModule, ...], config })`. */
export const zitiSourceModule: ContainerModule = sourceModule(zitiSource);
