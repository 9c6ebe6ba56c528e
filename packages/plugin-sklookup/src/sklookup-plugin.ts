/**
 * The sklookup agent plugin as one factory: its declarations (sklookup-entry.ts) and its steps
 * (sklookup-steps.ts), for a program that runs it on its own thread (`isolation: inline`) or uses
 * the factory directly. The agent's main thread loads only the light entry; the plugin's worker
 * thread only the steps.
 */
import { definePlugin, type PluginFactory } from '@bpfsteer/agent-kernel';
import type { SklookupConfig } from './sklookup-config.js';
import { sklookupDeclaration } from './sklookup-entry.js';
import { sklookupSteps } from './sklookup-steps.js';

export const sklookupPlugin: PluginFactory<SklookupConfig> = definePlugin({ ...sklookupDeclaration, steps: sklookupSteps });
