/**
 * What `bpfsteer run` does (commands/run.ts declares the command and imports this when it runs): the
 * agent from a config file, until SIGTERM/SIGINT; SIGHUP reloads.
 */
import {
  type Agent,
  type AgentConfig,
  ConfigError,
  type ContainerModule,
  contributedFactories,
  createAgent,
  createLogger,
  errorMessage,
  type LogFormat,
  type Logger,
  type LogLevel,
  readAgentConfigFile,
} from '@bpfsteer/agent-kernel';
import { notifyServiceManager, SocketHandles } from '@bpfsteer/core-bpf';
import { type CliContext, ExitCode } from '../cli-context.js';
import { exposeGcToNewThreads } from '../expose-gc.js';
import { coreBpfFeatureProbe } from '../load-feature-probe.js';
import type { NodeReporter } from '../kubernetes/node-reporter.js';
import { memoryDebugSetting, memoryReport, sampleMemory } from '../memory-report.js';

/** The options of `bpfsteer run` (commander's names). */
export interface RunOptions {
  config: string;
  logFormat: LogFormat;
  logLevel?: LogLevel;
  keepPinned?: boolean;
  takeOver?: boolean;
  kubernetes?: boolean;
  kubernetesNode?: string;
  kubernetesRoot?: string;
}

/** Runs the agent of `opts.config` until it stops; resolves to the exit code. */
export async function runAgent(opts: RunOptions, context: CliContext): Promise<number> {
  let config: AgentConfig;
  let modules: readonly ContainerModule[] = [];
  try {
    // the modules of the plugins and sources the file selects (only those are loaded)
    config = await readAgentConfigFile(opts.config, async (document) =>
      contributedFactories(...(modules = await context.modulesFor(document))),
    );
  } catch (err) {
    if (!(err instanceof ConfigError)) throw err;
    context.stderr.write(`bpfsteer: ${err.message}\n`);
    return ExitCode.usage;
  }
  const logger = createLogger({
    level: opts.logLevel ?? config.agent.logLevel,
    format: opts.logFormat,
    ...(context.stderr !== process.stderr && { destination: context.stderr }),
  });
  const agent = createAgent({ config, modules, logger, featureProbe: coreBpfFeatureProbe, socketHandles: new SocketHandles() });
  const keepPinned = opts.keepPinned ?? false;
  let reporter: NodeReporter | undefined;
  if (opts.kubernetes) {
    const nodeName = opts.kubernetesNode ?? process.env.NODE_NAME;
    if (!nodeName) {
      context.stderr.write('bpfsteer: --kubernetes: name the Node the agent runs on with --kubernetes-node or NODE_NAME (neither is set)\n');
      return ExitCode.usage;
    }
    try {
      // loaded only when asked for (a large module)
      const { NodeReporter } = await import('../kubernetes/node-reporter.js');
      reporter = await NodeReporter.start(agent, { nodeName, root: opts.kubernetesRoot ?? '/', logger });
    } catch (err) {
      if (!(err instanceof ConfigError)) throw err;
      context.stderr.write(`bpfsteer: --kubernetes: ${err.issues.map((i) => i.message).join('; ')}\n`);
      return ExitCode.usage;
    }
  }
  // the plugins' threads start in agent.start (runStarted): gc for their IdleTrim
  exposeGcToNewThreads();
  try {
    return await runStarted(agent, config, logger, keepPinned, opts.takeOver ?? false);
  } finally {
    await reporter?.close();
  }
}

async function runStarted(agent: Agent, config: AgentConfig, logger: Logger, keepPinned: boolean, takeOver: boolean): Promise<number> {

  let stopping: Promise<void> | undefined;
  let stopRequested!: () => void;
  const stopSignal = new Promise<void>((resolve) => (stopRequested = resolve));
  const stop = (signal: NodeJS.Signals): void => {
    if (stopping) {
      logger.warn({ signal }, 'already shutting down; send SIGKILL to force');
      return;
    }
    logger.info({ signal, keepPinned }, 'shutting down');
    tellServiceManager(logger, 'STOPPING=1');
    stopping = agent.stop({ keepPinned });
    stopRequested();
  };
  const reload = (): void => {
    agent.reload().catch((err: unknown) => logger.error({ err }, 'reload failed'));
  };
  let handedOver = false;
  void agent.handedOver.then(() => (handedOver = true));
  process.on('SIGTERM', stop);
  process.on('SIGINT', stop);
  process.on('SIGHUP', reload);
  // an agent without admin socket has nothing else keeping the event loop alive
  const keepAlive = setInterval(() => undefined, 1 << 30);
  let memoryTimer: NodeJS.Timeout | undefined;
  try {
    try {
      await agent.start({ takeOver });
    } catch (err) {
      logger.fatal({ err }, `agent cannot start: ${errorMessage(err)}`);
      return ExitCode.failure;
    }
    if (!stopping && !handedOver) {
      if (config.plugins.length === 0) logger.warn('no plugins configured: the agent steers nothing');
      else if ((await agent.status()).plugins.every((p) => p.state === 'failed')) {
        logger.fatal('every plugin failed; exiting');
        await agent.stop({ keepPinned });
        return ExitCode.failure;
      }
      memoryTimer = reportMemory(logger, memoryDebugSetting(process.env.BPFSTEER_DEBUG_MEMORY));
      tellServiceManager(logger, `READY=1\nSTATUS=running: ${config.plugins.length} plugin(s), ${config.sources.length} source(s)`);
    }
    // a signal, or a new agent taking over (the agent then stops keeping its pins)
    await Promise.race([stopSignal, agent.handedOver]);
    await (stopping ?? agent.stop({ keepPinned }));
    return ExitCode.ok;
  } finally {
    clearInterval(keepAlive);
    clearInterval(memoryTimer);
    process.off('SIGTERM', stop);
    process.off('SIGINT', stop);
    process.off('SIGHUP', reload);
  }
}

/**
 * Tells systemd how the agent is (a unit of Type=notify: packaging/systemd/bpfsteer-agent.service)
 * when it runs under one ($NOTIFY_SOCKET); a failure to tell is logged, never fatal.
 */
function tellServiceManager(logger: Logger, state: string): void {
  try {
    notifyServiceManager(state);
  } catch (err) {
    logger.warn({ err }, `could not notify the service manager (${state.split('\n')[0]}): ${errorMessage(err)}`);
  }
}

/** The BPFSTEER_DEBUG_MEMORY report (memory-report.ts): logged now, and every `setting` ms when a period. */
function reportMemory(logger: Logger, setting: 'once' | number | undefined): NodeJS.Timeout | undefined {
  if (setting === undefined) return undefined;
  const report = (): void => logger.info({ memory: memoryReport(sampleMemory()) }, 'memory');
  report();
  return setting === 'once' ? undefined : setInterval(report, setting).unref();
}
