import { packageBuild } from '../../tsup.shared.js';

// index: the schemas (zod) and types; kinds: the names, limits, checks and the mesh_bypass token
// without zod, for a plugin's worker thread
export default packageBuild({ entry: ['src/index.ts', 'src/kinds.ts'] });
