/**
 * Keeps the pass rules of the OpenZiti router's own listeners (router-config.ts) in step with its
 * config file: read at the source's start, again whenever the file changes (its directory is
 * watched: editors and config tools replace the file) and on a reload. A file that cannot be read
 * keeps the rules it gave last, with an error logged; each problem in it is logged as a warning.
 */
import { watch, type FSWatcher } from 'node:fs';
import { basename, dirname } from 'node:path';
import { readRegularFile, type Logger } from '@bpfsteer/agent-kernel';
import { errorMessage } from './errors.js';
import { ROUTER_CONFIG_SERVICE, routerListeners, routerPassRules } from './router-config.js';
import type { ZitiService } from './ziti-service.js';

/** Changes are read this long after the last event (a write comes as several). */
const SETTLE_MS = 200;
/** The largest router config read. */
const MAX_BYTES = 1 << 20;

export class RouterConfigWatch {
  readonly #path: string;
  readonly #service: ZitiService;
  readonly #logger: Logger;
  #watcher: FSWatcher | undefined;
  #timer: NodeJS.Timeout | undefined;
  #reading: Promise<void> = Promise.resolve();

  constructor(path: string, service: ZitiService, logger: Logger) {
    this.#path = path;
    this.#service = service;
    this.#logger = logger;
  }

  /** Reads the file and applies its rules, then watches it. */
  async start(): Promise<void> {
    await this.read();
    const name = basename(this.#path);
    try {
      this.#watcher = watch(dirname(this.#path), (_event, file) => {
        if (file !== null && file !== name) return;
        clearTimeout(this.#timer);
        this.#timer = setTimeout(() => void this.read(), SETTLE_MS);
      });
      this.#watcher.on('error', (err) => this.#logger.warn({ err, routerConfig: this.#path }, `no longer watching the router config: ${errorMessage(err)}`));
    } catch (err) {
      this.#logger.warn({ err, routerConfig: this.#path }, `cannot watch the router config (read at start and reload only): ${errorMessage(err)}`);
    }
  }

  /** Reads the file now and applies its rules (one read at a time). */
  read(): Promise<void> {
    this.#reading = this.#reading.then(() => this.#readOnce());
    return this.#reading;
  }

  async #readOnce(): Promise<void> {
    let text: string;
    try {
      text = await readRegularFile(this.#path, MAX_BYTES);
    } catch (err) {
      this.#logger.error({ err, routerConfig: this.#path }, `cannot read the router config; its pass rules stay as they were: ${errorMessage(err)}`);
      return;
    }
    const { listeners, problems } = routerListeners(text);
    for (const problem of problems) this.#logger.warn({ routerConfig: this.#path }, `router config: ${problem}`);
    try {
      const changed = await this.#service.replaceServiceRules(ROUTER_CONFIG_SERVICE, routerPassRules(listeners));
      if (changed > 0) {
        this.#logger.info({ routerConfig: this.#path, listeners: listeners.map((l) => `${l.from} ${l.protocol} ${l.destination} ${l.port}`) }, 'pass rules for the router\'s own listeners updated');
      }
    } catch (err) {
      this.#logger.error({ err, routerConfig: this.#path }, `the pass rules of the router's listeners were refused: ${errorMessage(err)}`);
    }
  }

  stop(): void {
    clearTimeout(this.#timer);
    this.#watcher?.close();
  }
}
