/**
 * The tc-nexthop agent plugin as one factory: its declarations (tc-nexthop-entry.ts) and its steps
 * (tc-nexthop-steps.ts), for a program that runs it on its own thread (`isolation: inline`) or uses
 * the factory directly. The agent's main thread loads only the light entry; the plugin's worker
 * thread only the steps.
 */
import { definePlugin, type PluginFactory } from '@bpfsteer/agent-kernel';
import type { TcNexthopConfig } from './tc-nexthop-config.js';
import { tcNexthopDeclaration } from './tc-nexthop-entry.js';
import { tcNexthopSteps } from './tc-nexthop-steps.js';

export { tcNexthopConfigSchema, type TcNexthopConfig } from './tc-nexthop-config.js';

export const tcNexthopPlugin: PluginFactory<TcNexthopConfig> = definePlugin({ ...tcNexthopDeclaration, steps: tcNexthopSteps });
