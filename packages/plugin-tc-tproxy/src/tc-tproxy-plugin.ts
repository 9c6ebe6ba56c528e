/**
 * The tc-tproxy agent plugin: consumes `tproxy.rule` and `tproxy.interface` intents and keeps a
 * TproxyDataplane converged to them on the configured interfaces; describes the applied rules and
 * interfaces with their counters, and streams `tproxy.event` to watchers (and to its debug log).
 */
import type { ApplyReport, CloseOptions, DataplanePlugin, DesiredState, PluginContext, PluginFactory, PluginStatus } from '@bpfsteer/agent-kernel';
import { InvalidArgumentError } from '@bpfsteer/core-bpf';
import type { z } from 'zod';
import { tcTproxyConfigSchema, type TcTproxyConfig } from './tproxy-config.js';
import { TproxyDataplane } from './tproxy-dataplane.js';
import type { TproxyEvent } from './tproxy-event.js';
import {
  TPROXY_EVENT_TOPIC,
  TPROXY_INTERFACE_KIND,
  TPROXY_RULE_KIND,
  tproxyInterfaceIntentSchema,
  tproxyRuleIntentSchema,
} from './tproxy-intents.js';

class TcTproxyPlugin implements DataplanePlugin {
  readonly #config: TcTproxyConfig;
  readonly #context: PluginContext;
  #dataplane: TproxyDataplane | undefined;
  readonly #watchers = new Set<(event: unknown) => void>();
  #unsubscribe: (() => void) | undefined;

  constructor(config: TcTproxyConfig, context: PluginContext) {
    this.#config = tcTproxyConfigSchema.parse(config);
    this.#context = context;
  }

  #dp(): TproxyDataplane {
    if (!this.#dataplane) throw new InvalidArgumentError('tc-tproxy: open() has not run (or the plugin is closed)');
    return this.#dataplane;
  }

  async open(): Promise<void> {
    const log = this.#context.logger;
    this.#dataplane = TproxyDataplane.open({
      ...this.#config,
      pinRoot: this.#context.pinRoot,
      onError: (err) => log.warn({ err }, 'tc-tproxy background work failed'),
    });
  }

  async load(): Promise<void> {
    this.#dp().load();
  }

  async seed(): Promise<void> {
    const dp = this.#dp();
    dp.seed();
    const rules = dp.status().rules;
    if (rules > 0) this.#context.logger.info({ rules }, 'adopted the rules of the pinned maps (in force until the first apply)');
  }

  async attach(): Promise<void> {
    const dp = this.#dp();
    dp.attach();
    for (const a of dp.status().attachments) {
      this.#context.logger.info({ interface: a.interface, direction: a.direction, type: a.type, pinned: a.pinned }, 'tproxy program attached');
    }
    const log = this.#context.logger;
    this.#unsubscribe = dp.onEvent((event: TproxyEvent) => {
      if (log.isLevelEnabled('debug')) log.debug({ event }, `tproxy ${event.kind} (${event.reason})`);
      for (const w of this.#watchers) {
        try {
          w(event);
        } catch (err) {
          log.warn({ err }, 'a tproxy.event watcher failed');
        }
      }
    });
  }

  async apply(desired: DesiredState): Promise<ApplyReport> {
    const result = this.#dp().apply({
      rules: desired.get(TPROXY_RULE_KIND) ?? [],
      interfaces: desired.get(TPROXY_INTERFACE_KIND) ?? [],
    });
    this.#context.logger.info(
      { added: result.added, updated: result.updated, removed: result.removed, entries: result.entries, steps: result.steps, ms: Math.round(result.ms) },
      'tproxy rules applied',
    );
    return { added: result.added, updated: result.updated, removed: result.removed };
  }

  async describe(kind: string): Promise<unknown> {
    if (kind === TPROXY_RULE_KIND) return this.#dp().describeRules();
    if (kind === TPROXY_INTERFACE_KIND) return this.#dp().describeInterfaces();
    return undefined;
  }

  watch(topic: string, listener: (event: unknown) => void): () => void {
    if (topic !== TPROXY_EVENT_TOPIC) {
      throw new InvalidArgumentError(`tc-tproxy: unknown event topic ${JSON.stringify(topic)}; the topic is ${TPROXY_EVENT_TOPIC}`);
    }
    if (typeof listener !== 'function') throw new InvalidArgumentError('tc-tproxy: watch needs a listener function');
    const own = (event: unknown) => listener(event); // one subscription per call, even for the same function
    this.#watchers.add(own);
    return () => {
      this.#watchers.delete(own);
    };
  }

  status(): PluginStatus {
    const dp = this.#dataplane;
    if (!dp) return { attachments: [], maps: [] };
    let s;
    try {
      s = dp.status();
    } catch {
      return { attachments: [], maps: [] };
    }
    const ns = this.#config.netns ? ` (netns ${this.#config.netns})` : '';
    return {
      attachments: s.attachments.map((a) => ({ target: `${a.interface} ${a.direction}${ns}`, type: a.type, ...(a.pinned ? { pinned: a.pinned } : {}) })),
      maps: s.maps,
      details: { maxRules: dp.maxRules, rules: s.rules },
    };
  }

  async close(options: CloseOptions): Promise<void> {
    this.#unsubscribe?.();
    this.#unsubscribe = undefined;
    this.#watchers.clear();
    const dp = this.#dataplane;
    this.#dataplane = undefined;
    dp?.close(options);
  }
}

export const tcTproxyPlugin: PluginFactory<TcTproxyConfig> = {
  id: 'tc-tproxy',
  description:
    'tc ingress stateful firewall for OpenZiti routers: diverts (prefix, source, protocol, ports) flows to local tproxy listeners (bpf_sk_assign), IPv4 and IPv6',
  configSchema: tcTproxyConfigSchema as unknown as z.ZodType<TcTproxyConfig>,
  intents: { [TPROXY_RULE_KIND]: tproxyRuleIntentSchema, [TPROXY_INTERFACE_KIND]: tproxyInterfaceIntentSchema },
  requires: ['bpffs', 'tc', 'lpm_trie', 'ringbuf'],
  // the agent runs the plugin in a worker thread of its own, importing this factory from here
  worker: { module: import.meta.url, export: 'tcTproxyPlugin' },
  create: (config, context) => new TcTproxyPlugin(config, context),
};
