import { z } from 'zod'
import { ZRole } from '../http/index.ts'

export const ZMeResponse = z.object({
  userId: z.uuid(),
  email: z.string(),
  name: z.string().nullable(),
  organizationId: z.uuid(),
  organizationName: z.string(),
  role: ZRole,
  /** How this request authenticated. */
  via: z.enum(['session', 'api_key']),
  organizations: z.array(z.object({ id: z.uuid(), name: z.string(), role: ZRole })),
})
export type TMeResponse = z.infer<typeof ZMeResponse>
