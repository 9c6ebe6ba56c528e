/**
 * The connect-redirect agent plugin as one factory: its declarations (connect-redirect-entry.ts)
 * and its steps (connect-redirect-steps.ts), for a program that runs it on its own thread
 * (`isolation: inline`) or uses the factory directly.
 */
import { definePlugin, type PluginFactory } from '@bpfsteer/agent-kernel';
import type { ConnectRedirectConfig } from './connect-redirect-config.js';
import { connectRedirectDeclaration } from './connect-redirect-entry.js';
import { connectRedirectSteps } from './connect-redirect-steps.js';

export const connectRedirectPlugin: PluginFactory<ConnectRedirectConfig> = definePlugin({ ...connectRedirectDeclaration, steps: connectRedirectSteps });
