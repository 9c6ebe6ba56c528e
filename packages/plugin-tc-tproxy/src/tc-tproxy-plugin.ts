/**
 * The tc-tproxy agent plugin: consumes `tproxy.rule` and `tproxy.interface` intents and keeps a
 * TproxyDataplane converged to them on the configured interfaces; describes the applied rules and
 * interfaces with their counters, and streams `tproxy.event` to watchers (and to its debug log).
 * The implementation the plugin's worker thread imports; the agent's main thread needs only the
 * light entry (tc-tproxy-entry.ts).
 */
import { definePlugin, type PluginFactory } from '@bpfsteer/agent-kernel';
import { InvalidArgumentError } from '@bpfsteer/core-bpf';
import type { TcTproxyConfig } from './tproxy-config.js';
import { tcTproxyDeclaration } from './tc-tproxy-entry.js';
import { TproxyDataplane } from './tproxy-dataplane.js';
import { TPROXY_EVENT_TOPIC, TPROXY_INTERFACE_KIND, TPROXY_RULE_KIND, type TproxyEvent } from '@bpfsteer/contract-tproxy';

export const tcTproxyPlugin: PluginFactory<TcTproxyConfig> = definePlugin<TcTproxyConfig, TproxyDataplane>({
  // declarations (and the worker module: this file, built) shared with the light entry
  ...tcTproxyDeclaration,
  steps: (config, context) => {
    const log = context.logger;
    const watchers = new Set<(event: unknown) => void>();
    let unsubscribe: (() => void) | undefined;
    return {
      open: () => TproxyDataplane.open({ ...config, pinRoot: context.pinRoot, onError: (err) => log.warn({ err }, 'tc-tproxy background work failed') }),
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
  },
});
