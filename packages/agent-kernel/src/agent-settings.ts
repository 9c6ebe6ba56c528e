/** The `agent:` section of the config file. */
import { z } from 'zod';
import { parseListenAddress } from './listen-address.js';

export const logLevels = ['fatal', 'error', 'warn', 'info', 'debug', 'trace', 'silent'] as const;
export type LogLevel = (typeof logLevels)[number];

const absolutePath = z
  .string()
  .refine((p) => p.startsWith('/') && !p.split('/').includes('..'), {
    message: 'must be an absolute path without ".." segments',
  });

const listenAddress = z.string().refine((text) => parseListenAddress(text) !== undefined, {
  message: 'must be host:port, e.g. "127.0.0.1:9464" or "[::]:9464" (port 1-65535)',
});

const milliseconds = z.number().int().min(1).max(3_600_000);

export const agentSettingsSchema = z
  .strictObject({
    /** bpffs directory under which each plugin gets `<pinRoot>/<plugin id>` */
    pinRoot: absolutePath.default('/sys/fs/bpf/bpfsteer'),
    /** unix socket of the admin API, or false to run without it */
    adminSocket: z.union([absolutePath, z.literal(false)]).default('/run/bpfsteer/agent.sock'),
    logLevel: z.enum(logLevels).default('info'),
    /**
     * Prometheus metrics over TCP as well (they are always on the admin socket's /metrics): the
     * address, and optionally a token file whose token requests must carry as a bearer token
     */
    metrics: z
      .strictObject({
        listen: listenAddress,
        tokenFile: absolutePath.optional(),
      })
      .optional(),
    /**
     * thread: each plugin whose factory names its module runs in a worker thread of its own, so its
     * kernel work never blocks the agent (the default); inline: every plugin on the agent's thread.
     */
    isolation: z.enum(['thread', 'inline']).default('thread'),
    timeouts: z
      .strictObject({
        /** each start-up step of a plugin or source: probe/open/load/seed/attach, source start */
        openMs: milliseconds.default(10_000),
        /** one `apply` of a plugin */
        applyMs: milliseconds.default(60_000),
        /** one `close` of a plugin / `stop` of a source */
        closeMs: milliseconds.default(10_000),
      })
      .prefault({}),
  })
  .prefault({});

export type AgentSettings = z.output<typeof agentSettingsSchema>;
