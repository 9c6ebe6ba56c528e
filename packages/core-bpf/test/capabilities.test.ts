import { describe, expect, it } from 'vitest';
import { CAP, effectiveCapabilities, hasCapability, missingBpfPrivilege, missingVerifierPrivilege } from '../src/capabilities.js';

const status = (capEff: string) => `Name:\tnode\nCapInh:\t0000000000000000\nCapEff:\t${capEff}\nCapBnd:\t000001ffffffffff\n`;
const mask = (...caps: number[]) => caps.reduce((m, c) => m | (1n << BigInt(c)), 0n).toString(16).padStart(16, '0');

describe('capabilities', () => {
  it('reads the effective set', () => {
    expect(effectiveCapabilities(status('000001ffffffffff'))).toBe(0x1ffffffffffn);
    expect(effectiveCapabilities('Name:\tx\n')).toBeUndefined();
  });

  it('names what is missing for BPF work: CAP_BPF or CAP_SYS_ADMIN', () => {
    expect(missingBpfPrivilege(0x1ffffffffffn)).toBeUndefined();
    expect(missingBpfPrivilege(BigInt(`0x${mask(CAP.BPF, CAP.NET_ADMIN)}`))).toBeUndefined();
    expect(missingBpfPrivilege(BigInt(`0x${mask(CAP.SYS_ADMIN)}`))).toBeUndefined();
    expect(missingBpfPrivilege(0n)).toMatch(/neither CAP_BPF nor CAP_SYS_ADMIN/);
    expect(missingBpfPrivilege(BigInt(`0x${mask(CAP.NET_ADMIN)}`))).toMatch(/CAP_BPF/);
  });

  it('names what the verifier needs to apply its privileged rules: CAP_PERFMON or CAP_SYS_ADMIN', () => {
    expect(missingVerifierPrivilege(BigInt(`0x${mask(CAP.BPF, CAP.NET_ADMIN, CAP.PERFMON)}`))).toBeUndefined();
    expect(missingVerifierPrivilege(BigInt(`0x${mask(CAP.SYS_ADMIN)}`))).toBeUndefined();
    expect(missingVerifierPrivilege(BigInt(`0x${mask(CAP.BPF, CAP.NET_ADMIN)}`))).toMatch(/neither CAP_PERFMON nor CAP_SYS_ADMIN/);
    expect(missingVerifierPrivilege(undefined)).toBeUndefined();
  });

  it('tells whether one capability is held (yes when the set cannot be read)', () => {
    expect(hasCapability('PERFMON', BigInt(`0x${mask(CAP.PERFMON)}`))).toBe(true);
    expect(hasCapability('SYS_ADMIN', BigInt(`0x${mask(CAP.PERFMON)}`))).toBe(false);
    expect(hasCapability('SYS_ADMIN', undefined)).toBe(true);
  });
});
