import { packageBuild } from '../../tsup.shared.js';

export default packageBuild({
  // index: the source (library); diverter: the bpfsteer-diverter / map_update / map_delete executable
  entry: { index: 'src/index.ts', diverter: 'src/diverter/bin.ts' },
  dts: { entry: { index: 'src/index.ts' } },
});
