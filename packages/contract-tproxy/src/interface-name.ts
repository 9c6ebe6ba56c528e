/** Linux interface names as the tproxy intents and the plugin's config take them. */
import { z } from 'zod';

/** What is wrong with `name` as a Linux interface name (1-15 bytes, no '/', ':' or whitespace, not "." or ".."); undefined when nothing. */
export function interfaceNameProblem(name: unknown): string | undefined {
  if (typeof name !== 'string') return 'expected a string';
  if (name.length === 0 || Buffer.byteLength(name) > 15) return 'an interface name has 1-15 bytes';
  if (/[\s/:]/.test(name)) return "an interface name has no '/', ':' or whitespace";
  if (name === '.' || name === '..') return 'an interface name is not "." or ".."';
  return undefined;
}

export const interfaceNameSchema = z.string().superRefine((value, ctx) => {
  const problem = interfaceNameProblem(value);
  if (problem) ctx.addIssue({ code: 'custom', message: `invalid interface name ${JSON.stringify(value)}: ${problem}` });
});
