import { describe, expect, it } from 'vitest';
import type { AgentStatusReport } from '@bpfsteer/agent-kernel';
import { formatStatus } from '../src/format-status.js';
import { formatTable } from '../src/format-table.js';

describe('formatTable', () => {
  it('pads columns to the widest cell and trims line ends', () => {
    expect(formatTable(['A', 'LONG HEADER', 'C'], [['x', 'y', ''], ['wide cell', 'z', 'last']])).toBe(
      ['A          LONG HEADER  C', 'x          y', 'wide cell  z            last'].join('\n'),
    );
  });
});

describe('formatStatus', () => {
  it('shows plugins with attachments, map entries and problems, then sources', () => {
    const report: AgentStatusReport = {
      agent: { pid: 42, state: 'running', startedAt: '2026-01-02T03:04:05.000Z', configPath: '/etc/bpfsteer.yaml', pinRoot: '/sys/fs/bpf/bpfsteer', adminSocket: '/run/bpfsteer/agent.sock' },
      plugins: [
        {
          id: 'tc-nexthop', state: 'running', kinds: ['nexthop.redirect'], requires: ['tcx'], dependsOn: [],
          attachments: [{ target: 'eth0 egress', type: 'tcx-egress' }, { target: 'eth1 egress', type: 'tcx-egress' }],
          maps: [{ name: 'rules', entries: 3, maxEntries: 1024 }],
          lastApply: { at: '2026-01-02T03:04:06.000Z', ok: true, durationMs: 2, intents: 3, report: { added: 3, updated: 0, removed: 0 } },
        },
        { id: 'other', state: 'failed', error: 'open timed out after 10000 ms', kinds: [], requires: [], dependsOn: [], attachments: [], maps: [] },
      ],
      sources: [{ name: 'static#0', type: 'static', state: 'running', intents: 3, lastPublishAt: '2026-01-02T03:04:05.500Z' }],
    };
    expect(formatStatus(report)).toBe(
      [
        'agent pid 42 running, since 2026-01-02T03:04:05.000Z, config /etc/bpfsteer.yaml',
        '',
        'PLUGIN      STATE    ATTACHMENTS                                         MAPS (entries/max)  LAST APPLY',
        'tc-nexthop  running  eth0 egress (tcx-egress), eth1 egress (tcx-egress)  rules 3/1024        +3 ~0 -0 03:04:06',
        'other       failed   -                                                   -                   -',
        '',
        'problems:',
        '  other: open timed out after 10000 ms',
        '',
        'SOURCE    STATE    INTENTS  LAST SNAPSHOT',
        'static#0  running  3        2026-01-02T03:04:05.500Z',
        '',
      ].join('\n'),
    );
  });

  it('says why a running plugin applies nothing while a source holds it', () => {
    const report: AgentStatusReport = {
      agent: { pid: 7, state: 'running', pinRoot: '/sys/fs/bpf/bpfsteer', adminSocket: false },
      plugins: [
        {
          id: 'tc-tproxy', state: 'running', kinds: ['tproxy.rule'], requires: [], dependsOn: [], attachments: [], maps: [],
          heldBy: [{ source: 'ziti#0', state: 'failed' }],
        },
      ],
      sources: [{ name: 'ziti#0', type: 'ziti', state: 'failed', error: 'start failed: state file damaged', intents: 0 }],
    };
    const text = formatStatus(report);
    expect(text).toContain('tc-tproxy  running  -            -                   held');
    expect(text).toContain('  tc-tproxy: applies nothing: ziti#0 failed before publishing (keeps its pinned state until a restart)');
    expect(text).toContain('  ziti#0: start failed: state file damaged');
  });
});
