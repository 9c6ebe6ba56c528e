// ReplyQueue (pure): answers leave in request order, whoever answers them.
import { describe, expect, it } from 'vitest';
import { ReplyQueue } from '../src/zds/reply-queue.js';

describe('ReplyQueue', () => {
  it('keeps a local answer behind an earlier forwarded request', () => {
    const q = new ReplyQueue<string, string>();
    q.forwarded('r1');
    q.local('local-2');
    q.forwarded('r3');
    expect(q.ready()).toEqual([]);
    expect(q.waiting).toBe(2);
    expect(q.answer((c) => `ack-${c}`)).toBe('r1');
    expect(q.ready()).toEqual(['ack-r1', 'local-2']);
    expect(q.answer((c) => `ack-${c}`)).toBe('r3');
    expect(q.ready()).toEqual(['ack-r3']);
    expect(q.answer((c) => c)).toBeUndefined();
  });

  it('sends local answers at once when nothing waits, and abandons the rest', () => {
    const q = new ReplyQueue<string, string>();
    q.local('a');
    expect(q.ready()).toEqual(['a']);
    q.forwarded('x');
    q.local('b');
    q.forwarded('y');
    expect(q.abandon()).toEqual(['x', 'y']);
    expect(q.ready()).toEqual([]);
    expect(q.waiting).toBe(0);
  });
});
