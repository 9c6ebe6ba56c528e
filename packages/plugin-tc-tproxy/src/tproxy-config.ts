/** The plugin's entry in the agent config. */
import { z } from 'zod';
import {
  DEFAULT_CT_ENTRIES,
  DEFAULT_MAX_RULES,
  DEFAULT_TCP_CLOSING_SECONDS,
  DEFAULT_TCP_IDLE_SECONDS,
  DEFAULT_UDP_IDLE_SECONDS,
  MAX_IFACES,
} from './tproxy-constants.js';
import { interfaceNameSchema } from '@bpfsteer/contract-tproxy';

/** Upper bound of maxRules (memory: ~32 bytes per slot plus 16 per slot and CPU for the counters). */
export const MAX_MAX_RULES = 1 << 21;
const YEAR = 365 * 24 * 3600;

export const tproxyInterfaceConfigSchema = z.strictObject({
  name: interfaceNameSchema,
  /**
   * the interface may be absent (made later: a VLAN, a tunnel, a NIC plugged in): the firewall is
   * attached when it appears and let go when it goes, and rules naming it apply there meanwhile
   * (default false: an absent interface fails the plugin's start)
   */
  optional: z.boolean().default(false),
  /** allow TCP 22 to the interface's own addresses (default true) */
  ssh: z.boolean().default(true),
  /** allow ICMP/ICMPv6 echo-request (default false) */
  echo: z.boolean().default(false),
  /** process IPv6 (default true; else IPv6 is dropped) */
  ipv6: z.boolean().default(true),
  /**
   * which events the ring buffer carries: drops (default on) and every new diverted flow (default
   * off: one event per connection costs ~10% of the connection rate; turn it on to follow diverts)
   */
  events: z.strictObject({ drops: z.boolean().default(true), diverts: z.boolean().default(false) }).prefault({}),
});

export const tcTproxyConfigSchema = z.strictObject({
  /** the interfaces whose ingress is firewalled (and whose egress records forwarded flows) */
  interfaces: z
    .array(tproxyInterfaceConfigSchema)
    .min(1, 'list at least one interface to attach the firewall to')
    .max(MAX_IFACES, `at most ${MAX_IFACES} interfaces`)
    .refine((l) => new Set(l.map((i) => i.name)).size === l.length, 'each interface may be listed once'),
  /** network namespace (name or path) the interfaces live in */
  netns: z.string().min(1).optional(),
  /** rule capacity (default 131072) */
  maxRules: z.number().int().min(1).max(MAX_MAX_RULES).default(DEFAULT_MAX_RULES),
  conntrack: z
    .strictObject({
      tcpIdleSeconds: z.number().int().min(1).max(YEAR).default(DEFAULT_TCP_IDLE_SECONDS),
      udpIdleSeconds: z.number().int().min(1).max(YEAR).default(DEFAULT_UDP_IDLE_SECONDS),
      tcpClosingSeconds: z.number().int().min(1).max(YEAR).default(DEFAULT_TCP_CLOSING_SECONDS),
      /** tracked flows per protocol (TCP and UDP each; preallocated, ~128 bytes per entry: 8 MiB for both at the default 32768) */
      maxEntries: z.number().int().min(16).max(1 << 24).default(DEFAULT_CT_ENTRIES),
    })
    .prefault({}),
  metrics: z
    .strictObject({
      /**
       * also serve the rules' hits summed by their `service` name (bpfsteer_tproxy_service_*_total;
       * one series per service name, the rule counters read at each scrape); default false
       */
      perService: z.boolean().default(false),
    })
    .prefault({}),
});

export type TcTproxyConfig = z.output<typeof tcTproxyConfigSchema>;
export type TcTproxyConfigInput = z.input<typeof tcTproxyConfigSchema>;
export type TproxyInterfaceConfig = z.output<typeof tproxyInterfaceConfigSchema>;
