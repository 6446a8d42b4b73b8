import { z } from 'zod'
import { list, ZEmail, ZPassword, ZRole, ZTimestamp } from '../http/index.ts'

export const ZInvitation = z
  .object({
    id: z.uuid(),
    email: z.string(),
    role: ZRole,
    /** `expired` after 7 days; an accepted invitation is gone (the person is a member). */
    status: z.enum(['pending', 'expired']),
    createdAt: ZTimestamp,
    expiresAt: ZTimestamp,
  })
  .meta({ id: 'Invitation' })
export type TInvitation = z.infer<typeof ZInvitation>

export const ZListInvitationsResponse = list(ZInvitation)

export const ZCreateInvitationRequest = z.strictObject({ email: ZEmail, role: ZRole })
export type TCreateInvitationRequest = z.infer<typeof ZCreateInvitationRequest>

export const ZCreateInvitationResponse = ZInvitation.extend({
  /** Shown once: the one-time token, and the portal's link that carries it. */
  token: z.string(),
  link: z.string(),
})

export const ZAcceptInvitationRequest = z.strictObject({
  token: z.string().min(1).max(128),
  /** A new account's password, or the password of the account the e-mail has; not needed when signed in as it. */
  password: ZPassword.optional(),
  /** A new account's name. */
  name: z.string().trim().min(1).max(100).optional(),
})
export type TAcceptInvitationRequest = z.infer<typeof ZAcceptInvitationRequest>

export const ZAcceptInvitationResponse = z.object({
  userId: z.uuid(),
  organizationId: z.uuid(),
  role: ZRole,
  /** Session token in the organization joined (also set as the session cookie). */
  token: z.string(),
  expiresAt: ZTimestamp,
})

export const ZDescribeInvitationRequest = z.strictObject({ token: z.string().min(1).max(128) })

export const ZDescribeInvitationResponse = z.object({
  organizationName: z.string(),
  /** The e-mail invited: the account it makes or joins. */
  email: z.string(),
  role: ZRole,
  expiresAt: ZTimestamp,
})
