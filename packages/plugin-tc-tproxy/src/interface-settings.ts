/**
 * Per-interface settings: the config's entry for an attached interface, overridden field by field by
 * a `tproxy.interface` intent, and the tctp_ifaces flags they mean. Pure.
 */
import { IntentRejectedError, type Intent } from '@bpfsteer/agent-kernel/plugin-kit';
import type { TproxyInterfaceFields, TproxyInterfaceIntent } from '@bpfsteer/contract-tproxy';
import { TPROXY_INTERFACE_KIND } from '@bpfsteer/contract-tproxy/kinds';
import { contractSchemas, describeIssues } from './contract-schemas.js';
import { IF_ECHO, IF_EVENTS_DIVERT, IF_EVENTS_DROP, IF_IPV6, IF_SSH } from './tproxy-constants.js';
import type { TproxyInterfaceConfig } from './tproxy-config.js';

export interface InterfaceSettings {
  readonly ssh: boolean;
  readonly echo: boolean;
  readonly ipv6: boolean;
  readonly events: { readonly drops: boolean; readonly diverts: boolean };
}

/** The settings in force: the config's, overridden by the intent's fields. */
export function effectiveSettings(config: TproxyInterfaceConfig, override?: TproxyInterfaceFields): InterfaceSettings {
  return {
    ssh: override?.ssh ?? config.ssh,
    echo: override?.echo ?? config.echo,
    ipv6: override?.ipv6 ?? config.ipv6,
    events: {
      drops: override?.events?.drops ?? config.events.drops,
      diverts: override?.events?.diverts ?? config.events.diverts,
    },
  };
}

export function interfaceFlags(s: InterfaceSettings): number {
  return (
    (s.ssh ? IF_SSH : 0) |
    (s.echo ? IF_ECHO : 0) |
    (s.ipv6 ? IF_IPV6 : 0) |
    (s.events.drops ? IF_EVENTS_DROP : 0) |
    (s.events.diverts ? IF_EVENTS_DIVERT : 0)
  );
}

/**
 * The `tproxy.interface` intents of a desired state, by interface name. IntentRejectedError for an
 * invalid intent, an interface that is not attached, or one named twice.
 */
export function interfaceOverrides(intents: readonly Intent[], attached: readonly string[]): Map<string, TproxyInterfaceIntent> {
  const out = new Map<string, TproxyInterfaceIntent>();
  intents.forEach((intent, index) => {
    const { kind: _kind, ...fields } = (intent ?? {}) as Intent;
    const parsed = contractSchemas().tproxyInterfaceIntentSchema.safeParse(fields);
    if (!parsed.success) {
      throw new IntentRejectedError(`tproxy.interface #${index}: ${describeIssues(parsed.error)}`);
    }
    const v = parsed.data;
    if (!attached.includes(v.name)) {
      throw new IntentRejectedError(
        `tproxy.interface #${index}: interface ${v.name} is not attached (attached: ${attached.join(', ')}); ` +
          'add it to the plugin config to firewall it',
      );
    }
    if (out.has(v.name)) throw new IntentRejectedError(`tproxy.interface #${index}: interface ${v.name} has settings twice`);
    out.set(v.name, { ...v, kind: TPROXY_INTERFACE_KIND });
  });
  return out;
}
