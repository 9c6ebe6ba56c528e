// Every CLI command, one line each: adding a command is adding its export here.
export { runCommand } from './run.js';
export { statusCommand } from './status.js';
export { validateCommand } from './validate.js';
export { demoCommand } from './demo.js';
