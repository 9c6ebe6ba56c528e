/** The cgroup-mark plugin's config (its entry in the agent's config file). */
import { z } from 'zod';
import { DEFAULT_BYPASS_ENTRIES, MAX_BYPASS_ENTRIES } from './bypass-limits.js';
import { DEFAULT_MARK_PRESET, resolveMark, type MarkSpec } from './mark-selector.js';

const markNumber = z.union([z.number(), z.string()]);

export const cgroupMarkConfigSchema = z.strictObject({
  /**
   * the proxy's cgroup: a path relative to the cgroup2 root (or absolute inside it), or
   * { pid } / { process: 'ztunnel' } to take the cgroup of that process (found at attach)
   */
  cgroup: z.union([
    z.string().min(1, 'cgroup: give a path relative to the cgroup2 root, { pid } or { process }'),
    z.strictObject({ pid: z.number().int().positive() }),
    z.strictObject({ process: z.string().min(1).max(255) }),
  ]),
  /** which packets are the proxy's own: a preset, "value/mask" or { value, mask } (default ambient-inpod, 0x539/0xfff) */
  mark: z
    .union([z.string(), z.strictObject({ value: markNumber, mask: markNumber.optional() })])
    .default(DEFAULT_MARK_PRESET)
    .superRefine((v, ctx) => {
      try {
        resolveMark(v as MarkSpec);
      } catch (err) {
        ctx.addIssue({ code: 'custom', message: (err as Error).message });
      }
    }),
  /** record only connections to local addresses (SYNs through loopback), default true */
  localOnly: z.boolean().default(true),
  /** capacity of the mesh_bypass LRU map (plugin-sklookup takes the same through MESH_BYPASS_MAP) */
  bypassEntries: z.number().int().min(1).max(MAX_BYPASS_ENTRIES).default(DEFAULT_BYPASS_ENTRIES),
  /** where mesh_bypass is pinned; default <pinRoot>/maps/mesh_bypass (plugin-sklookup gets it, and bypassEntries, through MESH_BYPASS_MAP) */
  bypassMapPin: z.string().startsWith('/', 'bypassMapPin must be an absolute path on bpffs').optional(),
});

export type CgroupMarkConfig = z.output<typeof cgroupMarkConfigSchema>;

