export { DEFAULT_BYPASS_ENTRIES, MAX_BYPASS_ENTRIES } from './bypass-limits.js';
export {
  CgroupMarkDataplane,
  type CgroupMarkDataplaneOptions,
  type CgroupMarkDataplaneStatus,
  type CgroupMarkStats,
  type CgroupAttachmentStatus,
} from './cgroup-mark-dataplane.js';
export {
  MARK_PRESETS,
  DEFAULT_MARK_PRESET,
  resolveMark,
  markMatches,
  formatMark,
  type MarkMatch,
  type MarkPreset,
  type MarkSpec,
} from './mark-selector.js';
export { resolveCgroups, cgroup2PathOf, hostView, procfs, type CgroupSelector, type HostView, type ProcReader } from './cgroup-selector.js';
export type { BypassEntry } from './bypass-entry.js';
export { defaultObjectPath } from './bpf-object-path.js';
export { cgroupMarkPlugin } from './cgroup-mark-plugin.js';
export { cgroupMarkDeclaration, cgroupMarkEntry } from './cgroup-mark-entry.js';
export { cgroupMarkModule } from './cgroup-mark-module.js';
export { cgroupMarkImplementation, cgroupMarkSteps } from './cgroup-mark-steps.js';
export { cgroupMarkConfigSchema, type CgroupMarkConfig } from './cgroup-mark-config.js';
