/** What a compiled dst node holds (its src nodes and port blocks, or an inline node's port intervals). Types only. */
import type { Prefix } from './key-prefix.js';
import type { PortBlock, PortInterval } from './port-partition.js';

export interface SrcNode {
  readonly prefix: Prefix;
  /** ascending by port */
  readonly blocks: readonly PortBlock[];
}

export interface NodeContent {
  /** ascending by prefix key */
  readonly srcNodes: readonly SrcNode[];
  /** number of tctp_src entries (0 when inline) */
  readonly srcEntries: number;
  /** number of tctp_port entries (0 when inline) */
  readonly portEntries: number;
  /** the port intervals of an inline node (its dst value holds them; it has no src or port entries) */
  readonly inline?: readonly PortInterval[];
  /** set on contents adopted from inconsistent map entries: never equal to any content */
  readonly inconsistent?: true;
}
