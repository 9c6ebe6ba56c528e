/** A CA and node certificates (SAN URI SPIFFE ids) made with openssl in a directory of the test's. */
import { execFileSync } from 'node:child_process';
import { writeFileSync } from 'node:fs';
import { join } from 'node:path';

export interface NodeFiles {
  readonly certFile: string;
  readonly keyFile: string;
  readonly caFile: string;
}

const openssl = (...args: string[]) => execFileSync('openssl', args, { stdio: ['ignore', 'ignore', 'pipe'] });

/** A CA in `dir` named `name`; returns the function that issues a node certificate with `identity` as its URI SAN. */
export function makeCa(dir: string, name: string): { caFile: string; issue: (node: string, identity: string) => NodeFiles } {
  const caKey = join(dir, `${name}-ca.key`);
  const caFile = join(dir, `${name}-ca.crt`);
  openssl('req', '-x509', '-newkey', 'ec', '-pkeyopt', 'ec_paramgen_curve:prime256v1', '-nodes', '-keyout', caKey, '-out', caFile, '-days', '2', '-subj', `/CN=${name} CA`);
  return {
    caFile,
    issue: (node, identity) => {
      const keyFile = join(dir, `${node}.key`);
      const csr = join(dir, `${node}.csr`);
      const certFile = join(dir, `${node}.crt`);
      const ext = join(dir, `${node}.ext`);
      writeFileSync(ext, `subjectAltName=URI:${identity}\nextendedKeyUsage=serverAuth,clientAuth\n`);
      openssl('req', '-newkey', 'ec', '-pkeyopt', 'ec_paramgen_curve:prime256v1', '-nodes', '-keyout', keyFile, '-out', csr, '-subj', `/CN=${node}`);
      openssl('x509', '-req', '-in', csr, '-CA', caFile, '-CAkey', caKey, '-CAcreateserial', '-out', certFile, '-days', '2', '-extfile', ext);
      return { certFile, keyFile, caFile };
    },
  };
}
