/** The sklookup plugin's config (its entry in the agent's config file). */
import { z } from 'zod';
import { DEFAULT_BYPASS_ENTRIES, DEFAULT_BYPASS_TTL_MS, DEFAULT_MAX_MEMBERS, DEFAULT_MAX_POD_ADDRESSES, DEFAULT_MAX_PODS, MAX_MAX_MEMBERS, MAX_MAX_PODS } from './sklookup-limits.js';

export const sklookupConfigSchema = z.strictObject({
  /** ports never diverted, in addition to 15001, 15006 and 15008 */
  skipPorts: z
    .array(z.number().int().min(1).max(65535))
    .refine((l) => new Set(l).size === l.length, 'each skip port may be listed once')
    .default([]),
  maxMembers: z.number().int().min(1).max(MAX_MAX_MEMBERS).default(DEFAULT_MAX_MEMBERS),
  maxPods: z.number().int().min(1).max(MAX_MAX_PODS).default(DEFAULT_MAX_PODS),
  maxPodAddresses: z.number().int().min(1).max(1 << 20).default(DEFAULT_MAX_POD_ADDRESSES),
  /** how long after the proxy's marked SYN its mesh_bypass entry counts */
  bypassTtlMs: z.number().int().min(1).max(3_600_000).default(DEFAULT_BYPASS_TTL_MS),
  /** capacity of mesh_bypass: must equal plugin-cgroup-mark's bypassEntries when the map is shared */
  bypassEntries: z.number().int().min(1).max(1 << 22).default(DEFAULT_BYPASS_ENTRIES),
  /**
   * the mesh_bypass map of plugin-cgroup-mark, e.g. /sys/fs/bpf/bpfsteer/cgroup-mark/maps/mesh_bypass;
   * without it the proxy's own connections are not recognised (they are diverted back to it)
   */
  bypassMapPin: z.string().startsWith('/', 'bypassMapPin must be an absolute path on bpffs').optional(),
});

export type SklookupConfig = z.output<typeof sklookupConfigSchema>;

