import { packageBuild } from '../../tsup.shared.js';

// index: the schema (zod) and types; kinds: the kind's name and the field readers without zod, for
// a plugin's worker thread
export default packageBuild({ entry: ['src/index.ts', 'src/kinds.ts'] });
