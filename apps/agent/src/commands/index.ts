// Every CLI command, one line each: adding a command is adding its export here.
export { runCommand } from './run.js';
export { statusCommand } from './status.js';
export { healthCommand } from './health.js';
export { manifestsCommand } from './manifests.js';
export { validateCommand } from './validate.js';
export { demoCommand } from './demo.js';
