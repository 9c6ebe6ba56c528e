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
 * start: serve the API on the unix socket (and on TCP with a bearer token when configured) at once,
 * then read the state file in slices and commit it (an agent restart re-publishes the same rules);
 * meanwhile health answers `loading` and requests that change rules wait. A state file that cannot
 * be read stops the API again and fails the start (nothing is published).
 */
import { chmod } from 'node:fs/promises';
import type { FastifyInstance } from 'fastify';
import { claimSocketPath, type IntentSink, type IntentSource, type SourceContext, type SourceFactory, type ContainerModule, sourceModule } from '@bpfsteer/agent-kernel';
import { createApi } from './api/lazy-api.js';
import { TPROXY_INTERFACE_KIND as INTERFACE_KIND, TPROXY_RULE_KIND as RULE_KIND } from '@bpfsteer/contract-tproxy';
import { readTokenFile } from './bearer-token.js';
import { ZitiSourceError, errorMessage } from './errors.js';
import { StateFile } from './state-file.js';
import { zitiSourceConfigSchema, type ZitiSourceConfig } from './ziti-source-config.js';
import { ZitiService } from './ziti-service.js';
import { emptyState } from './rule-store.js';

async function listenOnSocket(app: FastifyInstance, socketPath: string): Promise<void> {
  const previous = process.umask(0o177); // the socket is created 0600, never wider
  try {
    await app.listen({ path: socketPath });
  } catch (err) {
    throw new ZitiSourceError('ERR_ZITI_SOCKET', `cannot listen on ${socketPath}: ${errorMessage(err)}`, { cause: err });
  } finally {
    process.umask(previous);
  }
  await chmod(socketPath, 0o600);
}

class ZitiSource implements IntentSource {
  readonly #config: ZitiSourceConfig;
  readonly #context: SourceContext<ZitiSourceConfig>;
  #apps: FastifyInstance[] = [];
  #service?: ZitiService;
  #stateFile?: StateFile;

  constructor(config: ZitiSourceConfig, context: SourceContext<ZitiSourceConfig>) {
    this.#config = config;
    this.#context = context;
  }

  /** The service behind the API (for tests and diagnostics). */
  get service(): ZitiService | undefined {
    return this.#service;
  }

  async start(sink: IntentSink): Promise<void> {
    const { logger } = this.#context;
    const config = this.#config;
    const token = config.tcp ? await readTokenFile(config.tcp.tokenFile) : undefined;
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
    // first in the service's queue: requests that change rules wait for the saved ones
    const loaded = service.load(async () => {
      const { stateFile, state } = await StateFile.open(config.stateFile, logger);
      this.#stateFile = stateFile;
      return state;
    });
    loaded.catch(() => undefined); // awaited below, after the API listens
    try {
      // the API answers at once (health: loading) while the saved rules are read and published
      await this.#listen(service, token);
      const published = await loaded;
      const rules = service.state.rules.size;
      if (published.ok) logger.info({ rules, stateFile: config.stateFile }, 'published the saved ziti rules');
      else logger.error({ reason: published.reason, error: published.error }, 'the saved ziti rules were not applied; serving anyway');
    } catch (err) {
      await loaded.catch(() => undefined); // nothing of the start goes on after it failed
      await this.stop();
      throw err;
    }
  }

  async #listen(service: ZitiService, token: string | undefined): Promise<void> {
    const { logger } = this.#context;
    const config = this.#config;
    const { removedStale } = await claimSocketPath(config.socket, {
      refuse: (detail) => new ZitiSourceError('ERR_ZITI_SOCKET', `ziti API socket ${config.socket}: ${detail}`),
      holder: 'another agent',
    });
    if (removedStale) logger.info({ socket: config.socket }, 'removed a stale ziti API socket');
    const local = await createApi({ service, logger: logger.child({ api: 'unix' }), limits: config.http });
    this.#apps.push(local);
    await listenOnSocket(local, config.socket);
    logger.info({ socket: config.socket }, 'ziti API listening');
    if (config.tcp && token) {
      const remote = await createApi({ service, logger: logger.child({ api: 'tcp' }), token, limits: config.http });
      this.#apps.push(remote);
      await remote.listen({ host: config.tcp.host, port: config.tcp.port });
      logger.info({ host: config.tcp.host, port: config.tcp.port }, 'ziti API listening on TCP (bearer token required)');
    }
  }

  async stop(): Promise<void> {
    const apps = this.#apps.splice(0);
    await Promise.all(apps.map((app) => app.close())); // node removes the unix socket file on close
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
  ],
  create: (config, context) => new ZitiSource(config, context),
};

/** This source as a container module: `createAgent({ modules: [zitiSourceModule, ...], config })`. */
export const zitiSourceModule: ContainerModule = sourceModule(zitiSource);
