import { packageBuild } from '../../tsup.shared.js';

export default packageBuild({
  // index: everything; tc-tproxy-entry: the light entry (`./entry`) the agent's main thread loads;
  // tc-tproxy-steps: the implementation the plugin's worker thread imports (by file URL; no zod)
  entry: ['src/index.ts', 'src/tc-tproxy-entry.ts', 'src/tc-tproxy-module.ts', 'src/tc-tproxy-steps.ts'],
  dts: { entry: ['src/index.ts', 'src/tc-tproxy-entry.ts', 'src/tc-tproxy-module.ts'] },
});
