// HTTP/JSON over a unix socket, for the benches' clients of the agent's APIs (the ziti source's and
// the admin socket). Node's http client; `agent` picks the connection policy (a keep-alive Agent,
// or false for a fresh connection per request, as a `bpfsteer status` or a diverter call makes).
import { request } from 'node:http';

/**
 * One request; resolves { status, body } (body parsed when it is JSON). Network errors and, after
 * `timeoutMs`, a missing answer reject; a reused keep-alive connection the server had closed is
 * retried once on a fresh one.
 */
export function unixRequest(socketPath, method, path, { body, agent = false, timeoutMs = 60_000 } = {}) {
  return attempt(socketPath, method, path, body, agent, timeoutMs, false);
}

function attempt(socketPath, method, path, body, agent, timeoutMs, retried) {
  return new Promise((resolve, reject) => {
    const data = body === undefined ? undefined : Buffer.from(JSON.stringify(body));
    const req = request(
      {
        socketPath,
        path,
        method,
        agent,
        headers: { accept: 'application/json', ...(data && { 'content-type': 'application/json', 'content-length': data.length }) },
      },
      (res) => {
        const parts = [];
        res.on('data', (c) => parts.push(c));
        res.on('error', reject);
        res.on('end', () => {
          const text = Buffer.concat(parts).toString('utf8');
          let parsed = text;
          try {
            parsed = text ? JSON.parse(text) : undefined;
          } catch {
            // not JSON: the text as it came
          }
          resolve({ status: res.statusCode ?? 0, body: parsed, text });
        });
      },
    );
    req.setTimeout(timeoutMs, () => req.destroy(new Error(`${method} ${path} on ${socketPath}: no answer within ${timeoutMs} ms`)));
    req.on('error', (err) => {
      if (req.reusedSocket && !retried && (err.code === 'ECONNRESET' || err.code === 'EPIPE')) {
        resolve(attempt(socketPath, method, path, body, agent, timeoutMs, true));
      } else reject(err);
    });
    req.end(data);
  });
}
