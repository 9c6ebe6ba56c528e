/**
 * The running agent a new one takes over from (`bpfsteer run --take-over`), reached on the admin
 * socket of the config they share. The new agent asks it first whether it can hand over (GET
 * /v1/handover: its pid) and opens a connection to it; it then takes the sockets over (new
 * connections reach the new agent from then on), asks the old one on that connection to hand over
 * (POST /v1/handover: it stops, keeping its pins) and waits until its process has exited, so that
 * only one agent ever holds the pins, state files and plugins.
 */
import { createConnection, type Socket } from 'node:net';
import { adminRequest } from './admin-request.js';
import { AgentStateError, errorMessage } from './errors.js';
import { socketIsLive } from './listen-unix-socket.js';

/** How often the old agent's process is checked for its exit (ms). */
export const EXIT_POLL_MS = 10;

/** Whether a process `pid` exists (signal 0; EPERM: it exists under another user). */
function processExists(pid: number): boolean {
  try {
    process.kill(pid, 0);
    return true;
  } catch (err) {
    return (err as NodeJS.ErrnoException).code === 'EPERM';
  }
}

function connect(path: string): Promise<Socket> {
  return new Promise((resolve, reject) => {
    const socket = createConnection({ path });
    socket.once('connect', () => {
      socket.off('error', reject);
      resolve(socket);
    });
    socket.once('error', reject);
  });
}

export class PreviousAgent {
  readonly #socketPath: string;
  readonly pid: number;
  readonly #connection: Socket;

  private constructor(socketPath: string, pid: number, connection: Socket) {
    this.#socketPath = socketPath;
    this.pid = pid;
    this.#connection = connection;
  }

  /**
   * The agent answering on `socketPath`, ready to hand over, with a connection to it opened; undefined
   * when no agent answers there (nothing to take over). Rejects when one answers but cannot hand over.
   */
  static async find(socketPath: string): Promise<PreviousAgent | undefined> {
    const refuse = (why: string, cause?: unknown) =>
      new AgentStateError(`cannot take over from the agent on ${socketPath}: ${why}`, cause === undefined ? undefined : { cause });
    if (!(await socketIsLive(socketPath).catch(() => false))) return undefined;
    let answer;
    try {
      answer = await adminRequest(socketPath, '/v1/handover');
    } catch (err) {
      throw refuse(errorMessage(err), err);
    }
    const body = answer.body as { pid?: unknown; error?: unknown } | undefined;
    if (answer.status !== 200) {
      throw refuse(`it answered ${answer.status}${typeof body?.error === 'string' ? `: ${body.error}` : ' (an agent without handover?)'}`);
    }
    const pid = body?.pid;
    if (typeof pid !== 'number' || !Number.isInteger(pid) || pid <= 1) throw refuse(`it gave no valid pid (${JSON.stringify(pid)})`);
    if (pid === process.pid) throw refuse('it is this process');
    let connection;
    try {
      connection = await connect(socketPath);
    } catch (err) {
      throw refuse(errorMessage(err), err);
    }
    return new PreviousAgent(socketPath, pid, connection);
  }

  /**
   * Asks it to hand over on the connection opened by `find` (its socket path may be this agent's
   * by now) and waits until its process exited. Rejects when it refuses or outlives `timeoutMs`.
   */
  async handOver(timeoutMs: number): Promise<void> {
    let status;
    try {
      status = (await adminRequest(this.#socketPath, '/v1/handover', { method: 'POST', connection: this.#connection, timeoutMs: 5000 })).status;
    } catch (err) {
      throw new AgentStateError(`the agent (pid ${this.pid}) on ${this.#socketPath} did not take the handover: ${errorMessage(err)}`, { cause: err });
    }
    if (status !== 202) throw new AgentStateError(`the agent (pid ${this.pid}) on ${this.#socketPath} refused the handover (${status})`);
    const until = Date.now() + timeoutMs;
    while (processExists(this.pid)) {
      if (Date.now() > until) {
        throw new AgentStateError(`the agent (pid ${this.pid}) did not exit within ${timeoutMs} ms of handing over; it may still hold the pins`);
      }
      await new Promise((resolve) => setTimeout(resolve, EXIT_POLL_MS));
    }
  }

  /** Closes the connection (when the handover is not asked for after all). */
  close(): void {
    this.#connection.destroy();
  }
}
