/** TCP ports for the tunnel's unit tests. */
import { createServer } from 'node:net';

/** A port on 127.0.0.1 nothing listens on now (a connect to it is refused). */
export async function closedPort(): Promise<number> {
  const s = createServer();
  await new Promise<void>((r) => s.listen(0, '127.0.0.1', r));
  const { port } = s.address() as { port: number };
  await new Promise((r) => s.close(r));
  return port;
}

/** The port of a `host:port` endpoint. */
export const portOf = (endpoint: string): number => Number(endpoint.slice(endpoint.lastIndexOf(':') + 1));
