import { z } from 'zod'
import { list, PROBLEM_CONTENT_TYPE, ZProblem, ZTimestamp } from '../http/index.ts'

/** 422: the request is well-formed but breaks a rule (its `code` says which). */
export const UNPROCESSABLE = {
  422: {
    description:
      'It breaks a rule (`expiry_in_past`, `expiry_too_far`, `level_not_allowed`, `invalid_window`…).',
    content: { [PROBLEM_CONTENT_TYPE]: { schema: ZProblem } },
  },
} as const

export const ZCreateUniqueCodeRequest = z.strictObject({
  description: z.string().trim().min(1).max(200).describe('What the code is for, e.g. "Plumber – flat 3".'),
  expiresAt: ZTimestamp.describe('In the future and at most six calendar months from now.'),
})
export type TCreateUniqueCodeRequest = z.infer<typeof ZCreateUniqueCodeRequest>

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
