// Loaded with `node --import` by the kernel tests' child processes (ztunnel-like.ts): lets them run
// this package's TypeScript sources directly (Node strips the types). An import of `./x.js` whose
// file does not exist resolves to `./x.ts` next to it.
import { existsSync } from 'node:fs';
import { registerHooks } from 'node:module';
import { fileURLToPath } from 'node:url';

registerHooks({
  resolve(specifier, context, nextResolve) {
    const relative = specifier.startsWith('./') || specifier.startsWith('../');
    if (relative && specifier.endsWith('.js') && context.parentURL) {
      const asJs = new URL(specifier, context.parentURL);
      if (!existsSync(fileURLToPath(asJs))) {
        const asTs = new URL(`${specifier.slice(0, -3)}.ts`, context.parentURL);
        if (existsSync(fileURLToPath(asTs))) return nextResolve(asTs.href, context);
      }
    }
    return nextResolve(specifier, context);
  },
});
