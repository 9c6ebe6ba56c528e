/** The `mesh.member` intent: an address of a mesh workload (HBONE), anywhere in the mesh. */
import { z } from 'zod';
import { addressSchema } from './address-schema.js';

import { MESH_MEMBER_KIND } from './kinds.js';

/** One `mesh.member` intent without `kind`. */
export const meshMemberIntentSchema = z.strictObject({ address: addressSchema });

/** A `mesh.member` intent as a source publishes it. */
export type MeshMemberIntent = Readonly<z.output<typeof meshMemberIntentSchema>> & { readonly kind: typeof MESH_MEMBER_KIND };
