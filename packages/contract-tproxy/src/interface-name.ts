/** Linux interface names as the tproxy intents and the plugin's config take them. */
import { z } from 'zod';
import { interfaceNameProblem } from './kinds.js';

export const interfaceNameSchema = z.string().superRefine((value, ctx) => {
  const problem = interfaceNameProblem(value);
  if (problem) ctx.addIssue({ code: 'custom', message: `invalid interface name ${JSON.stringify(value)}: ${problem}` });
});
