/** A throw-away CA and an Istiod server certificate, made with the openssl CLI in a temp dir. */
import { execFileSync } from 'node:child_process';
import { mkdtempSync, readFileSync, rmSync, writeFileSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';

export interface TestCertificates {
  readonly dir: string;
  readonly caFile: string;
  readonly serverCert: Buffer;
  readonly serverKey: Buffer;
  /** the DNS name in the server certificate */
  readonly serverName: string;
  remove(): void;
}

export function makeTestCertificates(serverName = 'istiod.istio-system.svc'): TestCertificates {
  const dir = mkdtempSync(join(tmpdir(), `bpfsteer-istiod-ca-${process.pid}-`));
  const at = (name: string) => join(dir, name);
  const openssl = (...args: string[]) => execFileSync('openssl', args, { stdio: 'pipe' });
  openssl('req', '-x509', '-newkey', 'ec', '-pkeyopt', 'ec_paramgen_curve:prime256v1', '-nodes',
    '-keyout', at('ca.key'), '-out', at('ca.pem'), '-days', '1', '-subj', '/CN=bpfsteer test CA');
  openssl('req', '-newkey', 'ec', '-pkeyopt', 'ec_paramgen_curve:prime256v1', '-nodes',
    '-keyout', at('server.key'), '-out', at('server.csr'), '-subj', `/CN=${serverName}`);
  writeFileSync(at('server.ext'), `subjectAltName=DNS:${serverName},IP:127.0.0.1\nextendedKeyUsage=serverAuth\n`);
  openssl('x509', '-req', '-in', at('server.csr'), '-CA', at('ca.pem'), '-CAkey', at('ca.key'), '-CAcreateserial',
    '-out', at('server.pem'), '-days', '1', '-extfile', at('server.ext'));
  return {
    dir,
    caFile: at('ca.pem'),
    serverCert: readFileSync(at('server.pem')),
    serverKey: readFileSync(at('server.key')),
    serverName,
    remove: () => rmSync(dir, { recursive: true, force: true }),
  };
}
