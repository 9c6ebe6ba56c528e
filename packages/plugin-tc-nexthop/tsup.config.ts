import { packageBuild } from '../../tsup.shared.js';

export default packageBuild({
  // index: everything; tc-nexthop-entry: the light entry (`./entry`) the agent's main thread loads;
  // tc-nexthop-plugin: the implementation the plugin's worker thread imports (by file URL)
  entry: ['src/index.ts', 'src/tc-nexthop-entry.ts', 'src/tc-nexthop-plugin.ts'],
  dts: { entry: ['src/index.ts', 'src/tc-nexthop-entry.ts'] },
});
