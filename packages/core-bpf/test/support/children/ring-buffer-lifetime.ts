// Child process of ring-buffer.kernel.test.ts: does the event loop outlive a RingBuffer? Loads the
// core_ringbuf fixture, starts background delivery and then, by MODE:
// - idle:            nothing more; an unref'd ring buffer must let the process exit now
// - keepalive:       keepAlive: true and never closed; the process must stay (the parent kills it)
// - keepalive-close: keepAlive: true; one record is produced on a timer, the handler closes the ring,
//                    and then nothing keeps the process alive
// Prints one JSON line at exit: { mode, records }.
import { BpfObject } from '../../../src/bpf-object.js';
import { RingBuffer } from '../../../src/ring-buffer.js';
import { FIXTURE_DIR } from '../load-fixture.js';

const mode = process.argv[2];
const obj = BpfObject.open(`${FIXTURE_DIR}core_ringbuf.bpf.o`);
obj.load();
let records = 0;
const ring = RingBuffer.open(
  obj.map('core_rb_events'),
  () => {
    records++;
    if (mode === 'keepalive-close') ring.close();
  },
  { keepAlive: mode !== 'idle' },
);
ring.start();
if (mode === 'keepalive-close') setTimeout(() => obj.program('core_rb_emit').testRun({ data: new Uint8Array(64) }), 100).unref();
process.on('exit', () => console.log(JSON.stringify({ mode, records })));
console.error('started');
