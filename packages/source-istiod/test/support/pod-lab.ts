/**
 * Throw-away "pods" for the kernel tests: uniquely named netns (pid + random suffix) with lo up and
 * a veth to a shared client netns, IPv4 and IPv6 addresses. Everything created is removed by
 * cleanup(), also after failures; nothing else is touched.
 */
import { spawnSync } from 'node:child_process';
import { randomBytes } from 'node:crypto';

export function sh(argv: readonly string[]): string {
  const r = spawnSync(argv[0], argv.slice(1), { encoding: 'utf8' });
  if (r.status !== 0) throw new Error(`${argv.join(' ')} failed (${r.status}): ${r.stderr}${r.stdout}`);
  return r.stdout;
}

export interface LabPod {
  readonly netns: string;
  readonly path: string;
  readonly ipv4: string;
  readonly ipv6: string;
}

export class PodLab {
  readonly id = `zds-${process.pid}-${randomBytes(3).toString('hex')}`;
  readonly client: string;
  readonly #netns: string[] = [];
  #pods = 0;

  constructor() {
    this.client = this.#addNetns('cl');
  }

  #addNetns(short: string): string {
    const name = `${this.id}-${short}`;
    sh(['ip', 'netns', 'add', name]);
    this.#netns.push(name);
    sh(['ip', '-n', name, 'link', 'set', 'lo', 'up']);
    return name;
  }

  /** A pod netns 10.<n>.0.2/24 + fd00:<n>::2/64, its peer end in the client netns (.1 / ::1). */
  addPod(): LabPod {
    const n = ++this.#pods;
    const netns = this.#addNetns(`p${n}`);
    const tmpA = `z${randomBytes(5).toString('hex')}`;
    const tmpB = `z${randomBytes(5).toString('hex')}`;
    sh(['ip', 'link', 'add', tmpA, 'netns', netns, 'type', 'veth', 'peer', 'name', tmpB, 'netns', this.client]);
    sh(['ip', '-n', netns, 'link', 'set', tmpA, 'name', 'eth0']);
    sh(['ip', '-n', netns, 'addr', 'add', `10.${n}.0.2/24`, 'dev', 'eth0']);
    sh(['ip', '-n', netns, 'addr', 'add', `fd00:${n}::2/64`, 'dev', 'eth0', 'nodad']);
    sh(['ip', '-n', netns, 'link', 'set', 'eth0', 'up']);
    sh(['ip', '-n', this.client, 'addr', 'add', `10.${n}.0.1/24`, 'dev', tmpB]);
    sh(['ip', '-n', this.client, 'addr', 'add', `fd00:${n}::1/64`, 'dev', tmpB, 'nodad']);
    sh(['ip', '-n', this.client, 'link', 'set', tmpB, 'up']);
    return { netns, path: `/var/run/netns/${netns}`, ipv4: `10.${n}.0.2`, ipv6: `fd00:${n}::2` };
  }

  /** Delete one netns of this lab now (a pod that vanished). */
  deleteNetns(name: string): void {
    const i = this.#netns.indexOf(name);
    if (i < 0) throw new Error(`netns ${name} is not part of this lab`);
    this.#netns.splice(i, 1);
    sh(['ip', 'netns', 'del', name]);
  }

  /** One TCP exchange from the client netns: the first line the server sends, or the error. */
  connect(address: string, port: number): string {
    const script = `const s=require('net').connect({host:process.argv[1],port:+process.argv[2]});let d='';s.setTimeout(3000,()=>{console.log('timeout');process.exit(0)});s.on('data',x=>d+=x);s.on('end',()=>{console.log(d.trim());process.exit(0)});s.on('error',e=>{console.log('error '+e.code);process.exit(0)});`;
    return sh(['nsenter', `--net=/var/run/netns/${this.client}`, '--', process.execPath, '-e', script, address, String(port)]).trim();
  }

  cleanup(): void {
    const failed: string[] = [];
    for (const name of this.#netns.splice(0).reverse()) {
      const r = spawnSync('ip', ['netns', 'del', name], { encoding: 'utf8' });
      if (r.status !== 0) failed.push(`${name}: ${r.stderr}`);
    }
    if (failed.length) throw new Error(`lab cleanup left: ${failed.join('; ')}`);
  }
}
