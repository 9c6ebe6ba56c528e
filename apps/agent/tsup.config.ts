import { packageBuild } from '../../tsup.shared.js';

export default packageBuild({
  // index: the library part; bin: the `bpfsteer` executable (its shebang is kept, file made executable)
  entry: ['src/index.ts', 'src/bin.ts'],
  // no shared chunk: it would be imported before the bin's first import (reflect-metadata)
  splitting: false,
  dts: { entry: 'src/index.ts' },
});
