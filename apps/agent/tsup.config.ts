import { defineConfig } from 'tsup';

export default defineConfig({
  // index: the library part; bin: the `bpfsteer` executable (its shebang is kept, file made executable)
  entry: ['src/index.ts', 'src/bin.ts'],
  format: ['esm'],
  // no shared chunk: it would be imported before the bin's first import (reflect-metadata)
  splitting: false,
  dts: { entry: 'src/index.ts' },
  sourcemap: true,
  clean: true,
  target: 'node22',
  platform: 'node',
});
