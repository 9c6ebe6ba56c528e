/**
 * The `static` source: intents written in the config file itself. On reload (SIGHUP) it re-reads
 * and re-validates the file; an invalid file is logged and the last good intents stay in force.
 *
 * ```yaml
 * sources:
 *   - type: static
 *     intents:
 *       - { kind: nexthop.redirect, source: 192.168.1.5/32, ... }
 * ```
 */
import { z } from 'zod';
import type { IntentSink, IntentSource, SourceContext, SourceFactory } from './contracts.js';
import { checkIntents } from './check-intents.js';
import { formatConfigIssue } from './config-issue.js';
import { ConfigError, errorMessage } from './errors.js';

const staticSourceSchema = z.strictObject({
  intents: z.array(z.unknown()).default([]),
});

export type StaticSourceConfig = z.output<typeof staticSourceSchema>;

class StaticSource implements IntentSource {
  #sink?: IntentSink;
  readonly #config: StaticSourceConfig;
  readonly #context: SourceContext<StaticSourceConfig>;

  constructor(config: StaticSourceConfig, context: SourceContext<StaticSourceConfig>) {
    this.#config = config;
    this.#context = context;
  }

  async start(sink: IntentSink): Promise<void> {
    this.#sink = sink;
    this.#publish(this.#config);
  }

  async reload(): Promise<void> {
    const { logger, readOwnConfig } = this.#context;
    if (!readOwnConfig) {
      logger.info('no config file to re-read; the intents stay as they are');
      return;
    }
    try {
      this.#publish(await readOwnConfig());
    } catch (err) {
      const problems = err instanceof ConfigError ? err.issues.map(formatConfigIssue) : [errorMessage(err)];
      logger.error({ problems }, 'config reload failed; keeping the last good intents');
      throw err;
    }
  }

  async stop(): Promise<void> {
    this.#sink = undefined;
  }

  #publish(config: StaticSourceConfig): void {
    const { intents, issues } = checkIntents(config.intents, this.#context.intentSchemas, ['intents']);
    if (issues.length) throw new ConfigError(issues);
    if (!this.#sink) return;
    this.#sink.publish(intents);
    this.#context.logger.info({ intents: intents.length }, 'published the intents of the config file');
  }
}

export const staticSource: SourceFactory<StaticSourceConfig> = {
  type: 'static',
  description: 'intents written in the config file; re-read on reload (SIGHUP)',
  configSchema: staticSourceSchema,
  checkConfig: (config, intentSchemas) => checkIntents(config.intents, intentSchemas, ['intents']).issues,
  create: (config, context) => new StaticSource(config, context),
};
