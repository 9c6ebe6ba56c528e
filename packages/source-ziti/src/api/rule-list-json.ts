/**
 * The body of GET /v1/rules: the JSON text zod's serializer would make of the list (same keys, same
 * order), built in slices of a TimeSlicer. The serializer validates every listed rule, then
 * stringifies them all, each in one step: ~1 s for 100,000 rules during which the agent answers
 * nothing. The list is built from the checked store and the checked plugin view, so its types hold.
 */
import { TimeSlicer } from '@bpfsteer/agent-kernel';
import { jsonElementsInPieces } from '../json-in-pieces.js';
import type { RuleList } from '../ziti-service.js';
import { listedRuleView } from './rule-view.js';

/** The JSON text in UTF-8 chunks (~100 KB each: one Buffer of 20 MB alone takes ~60 ms to allocate and fill) and its length in bytes. */
export interface JsonChunks {
  readonly chunks: readonly Buffer[];
  readonly bytes: number;
}

export async function ruleListJson(list: RuleList, slicer: TimeSlicer = new TimeSlicer()): Promise<JsonChunks> {
  const head = JSON.stringify({ capacity: list.capacity, total: list.total, count: list.count, counters: list.counters });
  const pieces = await jsonElementsInPieces(list.rules, slicer, listedRuleView);
  const chunks = [Buffer.from(`${head.slice(0, -1)},"rules":[`)];
  for (const [i, piece] of pieces.entries()) {
    await slicer.pause();
    chunks.push(Buffer.from(i === 0 ? piece : `,${piece}`));
  }
  chunks.push(Buffer.from(']}'));
  return { chunks, bytes: chunks.reduce((sum, c) => sum + c.length, 0) };
}
