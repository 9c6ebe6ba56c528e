/**
 * The tc-tproxy agent plugin as one factory: its declarations (tc-tproxy-entry.ts) and its steps
 * (tc-tproxy-steps.ts), for a program that runs it on its own thread (`isolation: inline`) or uses
 * the factory directly. The agent's main thread loads only the light entry; the plugin's worker
 * thread only the steps.
 */
import { definePlugin, type PluginFactory } from '@bpfsteer/agent-kernel';
import type { TcTproxyConfig } from './tproxy-config.js';
import { tcTproxyDeclaration } from './tc-tproxy-entry.js';
import { tcTproxySteps } from './tc-tproxy-steps.js';

export const tcTproxyPlugin: PluginFactory<TcTproxyConfig> = definePlugin({ ...tcTproxyDeclaration, steps: tcTproxySteps });
