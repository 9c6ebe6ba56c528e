/**
 * The plugin as a container module for an agent composed in code: `createAgent({ modules: [cgroupMarkModule, ...], config })`.
 * Apart from the light entry (`/entry`: the factory, with no container and no inversify), so that
 * validating a config loads no more than the schemas.
 */
import { type ContainerModule, pluginModule } from '@bpfsteer/agent-kernel';
import { cgroupMarkEntry } from './cgroup-mark-entry.js';

export const cgroupMarkModule: ContainerModule = pluginModule(cgroupMarkEntry);
