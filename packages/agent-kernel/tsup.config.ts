import { packageBuild } from '../../tsup.shared.js';

// plugin-worker: the entry of each plugin's worker thread (found beside index.js at run time)
export default packageBuild({ entry: ['src/index.ts', 'src/plugin-worker.ts'] });
