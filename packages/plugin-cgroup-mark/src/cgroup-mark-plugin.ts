/**
 * The cgroup-mark agent plugin as one factory: its declarations (cgroup-mark-entry.ts) and its
 * steps (cgroup-mark-steps.ts), for a program that runs it on its own thread (`isolation: inline`)
 * or uses the factory directly. The agent's main thread loads only the light entry; the plugin's
 * worker thread only the steps.
 */
import { definePlugin, type PluginFactory } from '@bpfsteer/agent-kernel';
import type { CgroupMarkConfig } from './cgroup-mark-config.js';
import { cgroupMarkDeclaration } from './cgroup-mark-entry.js';
import { cgroupMarkSteps } from './cgroup-mark-steps.js';

export const cgroupMarkPlugin: PluginFactory<CgroupMarkConfig> = definePlugin({ ...cgroupMarkDeclaration, steps: cgroupMarkSteps });
