import { z } from 'zod'
import { list, ZEmail, ZPassword, ZRole, ZTimestamp } from '../http/index.ts'

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

export const ZAddMemberRequest = z.strictObject({
  email: ZEmail,
  role: ZRole,
  /** Initial password of a new account (required when the email has no account; refused when it has). */
  password: ZPassword.optional(),
  name: z.string().trim().min(1).max(100).optional(),
})
export type TAddMemberRequest = z.infer<typeof ZAddMemberRequest>

export const ZMemberParams = z.object({ userId: z.string().max(64) })
