/**
 * The tc-tproxy plugin's steps, and the implementation the plugin's worker thread imports
 * (`tcTproxyImplementation`): it consumes `tproxy.rule` and `tproxy.interface` intents and keeps a
 * TproxyDataplane converged to them on the configured interfaces; describes the applied rules and
 * interfaces with their counters, serves them as Prometheus families (tproxy-metrics.ts), and
 * streams `tproxy.event` to watchers (and to its debug log).
 * It loads no schema (no zod): its config comes parsed by the agent, and intents are checked by
 * the plugin's own code (tproxy-rule.ts). The factory with the declarations is tc-tproxy-plugin.ts.
 */
import { type PluginContext, type PluginImplementation, type PluginSteps, pluginImplementation } from '@bpfsteer/agent-kernel/plugin-kit';
import { InvalidArgumentError } from '@bpfsteer/core-bpf';
import type { TproxyEvent } from '@bpfsteer/contract-tproxy';
import { TPROXY_EVENT_TOPIC, TPROXY_INTERFACE_KIND, TPROXY_RULE_KIND } from '@bpfsteer/contract-tproxy/kinds';
import type { TcTproxyConfig } from './tproxy-config.js';
import { TproxyDataplane } from './tproxy-dataplane.js';
import { tproxyMetricFamilies } from './tproxy-metrics.js';

/** The steps of one plugin instance, from its parsed config. */
export function tcTproxySteps(config: TcTproxyConfig, context: PluginContext): PluginSteps<TproxyDataplane> {
  const log = context.logger;
  const watchers = new Set<(event: unknown) => void>();
  let unsubscribe: (() => void) | undefined;
  return {
    open: () =>
      TproxyDataplane.fromConfig(config, {
        pinRoot: context.pinRoot,
        onError: (err) => log.warn({ err }, 'tc-tproxy background work failed'),
        onInterface: ({ interface: name, present, ifindex }) =>
          log.info({ interface: name, ifindex }, present ? 'optional interface present: tproxy program attached, rules applied there' : 'optional interface gone: its attachment went with it'),
      }),
    load: (dp) => dp.load(),
    seed: (dp) => {
      dp.seed();
      const rules = dp.status().rules;
      if (rules > 0) log.info({ rules }, 'adopted the rules of the pinned maps (in force until the first apply)');
    },
    attach: (dp) => {
      dp.attach();
      for (const a of dp.status().attachments) {
        log.info({ interface: a.interface, direction: a.direction, type: a.type, pinned: a.pinned }, 'tproxy program attached');
      }
      for (const i of config.interfaces) {
        if (i.optional && !dp.status().attachments.some((a) => a.interface === i.name)) {
          log.warn({ interface: i.name }, 'optional interface not present: the tproxy program is attached when it appears');
        }
      }
      unsubscribe = dp.onEvent((event: TproxyEvent) => {
        if (log.isLevelEnabled('debug')) log.debug({ event }, `tproxy ${event.kind} (${event.reason})`);
        for (const w of watchers) {
          try {
            w(event);
          } catch (err) {
            log.warn({ err }, 'a tproxy.event watcher failed');
          }
        }
      });
    },
    apply: (dp, desired, changes) => {
      const result = dp.apply(
        { rules: desired.get(TPROXY_RULE_KIND) ?? [], interfaces: desired.get(TPROXY_INTERFACE_KIND) ?? [] },
        changes && { rules: changes.get(TPROXY_RULE_KIND), interfaces: changes.get(TPROXY_INTERFACE_KIND) },
      );
      log.info(
        { added: result.added, updated: result.updated, removed: result.removed, entries: result.entries, steps: result.steps, ms: Math.round(result.ms) },
        'tproxy rules applied',
      );
      return { added: result.added, updated: result.updated, removed: result.removed };
    },
    metrics: (dp) => tproxyMetricFamilies(dp.describeInterfaces().interfaces, config.metrics?.perService ? dp.ruleCounters() : undefined),
    describe: (dp, kind) => {
      if (kind === TPROXY_RULE_KIND) return dp.describeRules();
      if (kind === TPROXY_INTERFACE_KIND) return dp.describeInterfaces();
      return undefined;
    },
    watch: (topic, listener) => {
      if (topic !== TPROXY_EVENT_TOPIC) {
        throw new InvalidArgumentError(`tc-tproxy: unknown event topic ${JSON.stringify(topic)}; the topic is ${TPROXY_EVENT_TOPIC}`);
      }
      if (typeof listener !== 'function') throw new InvalidArgumentError('tc-tproxy: watch needs a listener function');
      const own = (event: unknown) => listener(event); // one subscription per call, even for the same function
      watchers.add(own);
      return () => {
        watchers.delete(own);
      };
    },
    status: (dp) => {
      const s = dp.status();
      const ns = config.netns ? ` (netns ${config.netns})` : '';
      return {
        attachments: s.attachments.map((a) => ({ target: `${a.interface} ${a.direction}${ns}`, type: a.type, ...(a.pinned ? { pinned: a.pinned } : {}) })),
        maps: s.maps,
        details: { maxRules: dp.maxRules, rules: s.rules },
      };
    },
    beforeClose: () => {
      unsubscribe?.();
      unsubscribe = undefined;
      watchers.clear();
    },
  };
}

/** What the plugin's worker thread imports (tc-tproxy-entry.ts names it). */
export const tcTproxyImplementation: PluginImplementation<TcTproxyConfig> = pluginImplementation('tc-tproxy', tcTproxySteps);
