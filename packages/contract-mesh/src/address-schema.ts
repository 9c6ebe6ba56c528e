/** An IPv4 or IPv6 address text (@bpfsteer/ip's rules: no prefix length, no zone). */
import { tryParseIp } from '@bpfsteer/ip';
import { z } from 'zod';

export const addressSchema = z.string().superRefine((value, ctx) => {
  const parsed = tryParseIp(value, { what: 'address' });
  if (!parsed.ok) ctx.addIssue({ code: 'custom', message: parsed.error.message });
});
