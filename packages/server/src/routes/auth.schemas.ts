import { z } from 'zod'
import { ZEmail, ZPassword, ZTimestamp } from '../http/index.ts'

export const ZSignupRequest = z.strictObject({
  email: ZEmail,
  password: ZPassword,
  organizationName: z.string().trim().min(1).max(100),
  name: z.string().trim().min(1).max(100).optional(),
})
export type TSignupRequest = z.infer<typeof ZSignupRequest>

export const ZSignupResponse = z.object({
  userId: z.uuid(),
  organizationId: z.uuid(),
  /** Session token (also set as the session cookie). */
  token: z.string(),
})
export type TSignupResponse = z.infer<typeof ZSignupResponse>

export const ZSignupStatusResponse = z.object({
  /** Whether `POST /auth/signup` would be taken now (LATCHKEY_SIGNUP and, for `first`, no organization yet). */
  allowed: z.boolean(),
})
export type TSignupStatusResponse = z.infer<typeof ZSignupStatusResponse>

export const ZLoginRequest = z.strictObject({
  email: ZEmail,
  password: z.string().min(1).max(256),
  /** For a member of several organizations; default: the one joined first. */
  organizationId: z.uuid().optional(),
})
export type TLoginRequest = z.infer<typeof ZLoginRequest>

export const ZLoginResponse = z.object({
  token: z.string(),
  expiresAt: ZTimestamp,
  userId: z.uuid(),
  organizationId: z.uuid(),
})
export type TLoginResponse = z.infer<typeof ZLoginResponse>
