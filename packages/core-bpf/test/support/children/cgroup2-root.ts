// Child process of system-helpers.kernel.test.ts, run in a private mount namespace without a cgroup2
// mount: prints where cgroup2Root() found or mounted the hierarchy and whether it works there.
import { existsSync, readFileSync } from 'node:fs';
import { cgroup2Root } from '../../../src/cgroup.js';

const before = readFileSync('/proc/self/mountinfo', 'utf8').includes(' - cgroup2 ');
const root = cgroup2Root();
process.stdout.write(`${JSON.stringify({ before, root, procs: existsSync(`${root}/cgroup.procs`), again: cgroup2Root() })}\n`);
