// Writes packages/source-ziti/openapi.json from the route schemas of the built package
// (`npm run openapi` builds first). test/openapi.test.ts checks that the file is current.
import { writeFile } from 'node:fs/promises';
import { openApiText } from '../dist/index.js';

const target = new URL('../openapi.json', import.meta.url);
await writeFile(target, await openApiText());
console.log(`wrote ${target.pathname}`);
