import { packageBuild } from '../../tsup.shared.js';

export default packageBuild({
  // index: everything; cgroup-mark-entry: the light entry (`./entry`) the agent's main thread loads;
  // cgroup-mark-steps: the implementation the plugin's worker thread imports (by file URL; no zod)
  entry: ['src/index.ts', 'src/cgroup-mark-entry.ts', 'src/cgroup-mark-module.ts', 'src/cgroup-mark-steps.ts'],
  dts: { entry: ['src/index.ts', 'src/cgroup-mark-entry.ts', 'src/cgroup-mark-module.ts'] },
});
