import { packageBuild } from '../../tsup.shared.js';

export default packageBuild({
  // index: everything; tc-tproxy-entry: the light entry (`./entry`) the agent's main thread loads;
  // tc-tproxy-plugin: the implementation the plugin's worker thread imports (by file URL)
  entry: ['src/index.ts', 'src/tc-tproxy-entry.ts', 'src/tc-tproxy-plugin.ts'],
  dts: { entry: ['src/index.ts', 'src/tc-tproxy-entry.ts'] },
});
