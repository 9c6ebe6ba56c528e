import { packageBuild } from '../../tsup.shared.js';

export default packageBuild({
  // index: everything; sklookup-entry: the light entry (`./entry`) the agent's main thread loads;
  // sklookup-steps: the implementation the plugin's worker thread imports (by file URL; no zod)
  entry: ['src/index.ts', 'src/sklookup-entry.ts', 'src/sklookup-module.ts', 'src/sklookup-steps.ts'],
  dts: { entry: ['src/index.ts', 'src/sklookup-entry.ts', 'src/sklookup-module.ts'] },
});
