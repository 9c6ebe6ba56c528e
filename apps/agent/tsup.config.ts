import { packageBuild } from '../../tsup.shared.js';

export default packageBuild({
  // index: the library part; bin: the `bpfsteer` executable (its shebang is kept, file made executable)
  entry: ['src/index.ts', 'src/bin.ts'],
  // chunks: the bin imports the CLI only after reflect-metadata (see bin.ts), and the CLI the
  // demo's lab only for `demo`
  splitting: true,
  dts: { entry: 'src/index.ts' },
});
