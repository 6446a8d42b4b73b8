import { z } from 'zod'
import {
  list,
  PROBLEM_CONTENT_TYPE,
  requestTime,
  ZLocalTimestamp,
  ZProblem,
  ZTimestamp,
} from '../http/index.ts'

/** 422: the request is well-formed but breaks a rule (its `code` says which). */
export const UNPROCESSABLE = {
  422: {
    description:
      'It breaks a rule (`expiry_in_past`, `expiry_too_far`, `level_not_allowed`, `invalid_window`…).',
    content: { [PROBLEM_CONTENT_TYPE]: { schema: ZProblem } },
  },
} as const

const ZZone = z
  .string()
  .max(64)
  .optional()
  .describe(
    'The IANA zone a local `expiresAt` is read in; default: the zone all the organization’s locks share, else UTC.',
  )

export const ZCreateUniqueCodeRequest = z.strictObject({
  description: z.string().trim().min(1).max(200).describe('What the code is for, e.g. "Plumber – flat 3".'),
  expiresAt: requestTime(
    'In the future and at most six calendar months from now. A local time is read in `timezone`.',
  ),
  timezone: ZZone,
})
export type TCreateUniqueCodeRequest = z.infer<typeof ZCreateUniqueCodeRequest>

export const ZUpdateUniqueCodeRequest = z.strictObject({
  description: z.string().trim().min(1).max(200).optional(),
  expiresAt: requestTime(
    'In the future and at most six calendar months after the code was created (422 `expiry_too_far`).',
  ).optional(),
  timezone: ZZone,
})
export type TUpdateUniqueCodeRequest = z.infer<typeof ZUpdateUniqueCodeRequest>

export const ZUniqueCodeStatus = z.enum(['active', 'expired'])

export const ZUniqueCode = z
  .object({
    id: z.uuid(),
    code: z
      .string()
      .describe(
        '10 characters of Crockford base32 shown as ABCDE-FGHJK; typed in any case, dashes and spaces ignored.',
      ),
    description: z.string(),
    expiresAt: ZTimestamp,
    expiresAtLocal: ZLocalTimestamp.describe('The expiry in `timezone`.'),
    timezone: z
      .string()
      .describe(
        'The zone all the organization’s locks share (else UTC), in which `expiresAtLocal` is shown.',
      ),
    status: ZUniqueCodeStatus,
    boundDevice: z
      .boolean()
      .describe('A device has logged in with it; another device is refused until a reset.'),
    createdAt: ZTimestamp,
  })
  .meta({ id: 'UniqueCode' })
export type TUniqueCode = z.infer<typeof ZUniqueCode>

export const ZListUniqueCodesQuery = z.strictObject({
  status: ZUniqueCodeStatus.optional().describe('Only active or only expired codes (both by default).'),
})
export type TListUniqueCodesQuery = z.infer<typeof ZListUniqueCodesQuery>

export const ZListUniqueCodesResponse = list(ZUniqueCode)
export type TListUniqueCodesResponse = z.infer<typeof ZListUniqueCodesResponse>
