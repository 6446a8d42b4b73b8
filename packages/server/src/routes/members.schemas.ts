import { z } from 'zod'
import { list, ZRole, ZTimestamp } from '../http/index.ts'

export const ZMember = z
  .object({
    userId: z.uuid(),
    email: z.string(),
    name: z.string().nullable(),
    role: ZRole,
    /** When they joined the organization. */
    createdAt: ZTimestamp,
  })
  .meta({ id: 'Member' })
export type TMember = z.infer<typeof ZMember>

export const ZListMembersResponse = list(ZMember)
export type TListMembersResponse = z.infer<typeof ZListMembersResponse>

export const ZUpdateMemberRequest = z.strictObject({ role: ZRole })
export type TUpdateMemberRequest = z.infer<typeof ZUpdateMemberRequest>

export const ZMemberParams = z.object({ userId: z.string().max(64) })
