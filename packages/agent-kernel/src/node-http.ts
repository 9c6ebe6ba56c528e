/**
 * node:http, loaded with require. An ESM import of node:http builds the module's ESM facade by
 * reading every export, and Node 24's lazy ones (the fetch and WebSocket classes) then load its
 * bundled undici: ~50 ms of every start of the agent and of its CLI, against ~7 ms for require
 * (measured here: `node -e "import('node:http')"` vs `require('node:http')`). Type-only imports
 * of node:http are erased and cost nothing.
 */
import { createRequire } from 'node:module';

export const nodeHttp = createRequire(import.meta.url)('node:http') as typeof import('node:http');
