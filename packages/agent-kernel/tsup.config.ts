import { packageBuild } from '../../tsup.shared.js';

// plugin-worker: the entry of each plugin's worker thread (found beside index.js at run time);
// plugin-kit: what a plugin's implementation imports in that thread (no zod, no inversify);
// config-entry (`./config`): config reading and validation alone (zod, yaml; no inversify, no pino).
// inversify is bundled: as a package it is ~240 small modules whose loading cost the agent's cold
// start ~150 ms of CPU; bundled, ~10 ms. It does not cross this package's API at run time (the
// containers and modules are its own: plugins and sources make theirs with pluginModule /
// sourceModule); the types still come from 'inversify'.
export default packageBuild({
  entry: ['src/index.ts', 'src/plugin-worker.ts', 'src/plugin-kit.ts', 'src/config-entry.ts'],
  noExternal: ['inversify', /^@inversifyjs\//],
});
