// Child process of bpf-object.kernel.test.ts: loads a BPF object while a CPU profiler's timer signals
// (node --cpu-prof with a tiny interval) keep interrupting the verifier; prints the error's name and message.
import { BpfObject } from '../../../src/bpf-object.js';

const obj = BpfObject.open(process.argv[2]!);
try {
  obj.load();
  console.log(JSON.stringify({ loaded: true }));
} catch (err) {
  console.log(JSON.stringify({ name: (err as Error).name, message: (err as Error).message }));
} finally {
  obj.close();
}
