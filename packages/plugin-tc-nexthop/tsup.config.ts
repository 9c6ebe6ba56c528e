import { packageBuild } from '../../tsup.shared.js';

export default packageBuild({
  // index: everything; tc-nexthop-entry: the light entry (`./entry`) the agent's main thread loads;
  // tc-nexthop-steps: the implementation the plugin's worker thread imports (by file URL; no zod)
  entry: ['src/index.ts', 'src/tc-nexthop-entry.ts', 'src/tc-nexthop-module.ts', 'src/tc-nexthop-steps.ts'],
  dts: { entry: ['src/index.ts', 'src/tc-nexthop-entry.ts', 'src/tc-nexthop-module.ts'] },
});
