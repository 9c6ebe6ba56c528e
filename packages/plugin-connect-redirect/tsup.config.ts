import { packageBuild } from '../../tsup.shared.js';

export default packageBuild({
  // index: everything; connect-redirect-entry: the light entry (`./entry`) the agent's main thread
  // loads; connect-redirect-steps: the implementation the plugin's worker thread imports (no zod)
  entry: ['src/index.ts', 'src/connect-redirect-entry.ts', 'src/connect-redirect-module.ts', 'src/connect-redirect-steps.ts'],
  dts: { entry: ['src/index.ts', 'src/connect-redirect-entry.ts', 'src/connect-redirect-module.ts'] },
});
