/**
 * A certificate authority for tests, made with openssl in a directory of the test's: it issues
 * certificates for servers and clients with the subjectAltNames asked (a SPIFFE id as URI, an IP
 * address, DNS names), EC P-256, valid two days.
 */
import { execFileSync } from 'node:child_process';
import { writeFileSync } from 'node:fs';
import { join } from 'node:path';

export interface IssuedFiles {
  readonly certFile: string;
  readonly keyFile: string;
  /** the CA's certificate: what a peer trusts */
  readonly caFile: string;
}

export interface SubjectAltNames {
  readonly uri?: string;
  readonly ip?: readonly string[];
  readonly dns?: readonly string[];
}

export interface TestCa {
  readonly caFile: string;
  /** a certificate named `name` (its files `<dir>/<name>.crt` and `.key`) */
  issue(name: string, san: SubjectAltNames): IssuedFiles;
}

const openssl = (...args: string[]) => execFileSync('openssl', args, { stdio: ['ignore', 'ignore', 'pipe'] });
const EC = ['-newkey', 'ec', '-pkeyopt', 'ec_paramgen_curve:prime256v1', '-nodes'];

export function makeTestCa(dir: string, name: string): TestCa {
  const caKey = join(dir, `${name}-ca.key`);
  const caFile = join(dir, `${name}-ca.crt`);
  openssl('req', '-x509', ...EC, '-keyout', caKey, '-out', caFile, '-days', '2', '-subj', `/CN=${name} CA`);
  return {
    caFile,
    issue: (leaf, san) => {
      const keyFile = join(dir, `${leaf}.key`);
      const csr = join(dir, `${leaf}.csr`);
      const certFile = join(dir, `${leaf}.crt`);
      const ext = join(dir, `${leaf}.ext`);
      const names = [...(san.uri ? [`URI:${san.uri}`] : []), ...(san.ip ?? []).map((a) => `IP:${a}`), ...(san.dns ?? []).map((d) => `DNS:${d}`)];
      writeFileSync(ext, `subjectAltName=${names.join(',')}\nextendedKeyUsage=serverAuth,clientAuth\n`);
      openssl('req', ...EC, '-keyout', keyFile, '-out', csr, '-subj', `/CN=${leaf}`);
      openssl('x509', '-req', '-in', csr, '-CA', caFile, '-CAkey', caKey, '-CAcreateserial', '-out', certFile, '-days', '2', '-extfile', ext);
      return { certFile, keyFile, caFile };
    },
  };
}
