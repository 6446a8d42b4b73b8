/** Schemas and helpers shared by the route schema files. */
import { isRequestInstant, isRequestTime, localIso, REQUEST_TIME_FORMATS } from '@latchkey/core'
import { z } from 'zod'
import { PROBLEM_CONTENT_TYPE, ZProblem } from './errors.ts'

/** ISO-8601 UTC instant, as every time in the API. */
export const ZTimestamp = z.iso.datetime()

/** A UTC instant in a query: one a request may name (1970 to 9999). */
export const ZTimestampQuery = ZTimestamp.refine((text) => isRequestInstant(Date.parse(text)), {
  message: 'must lie between 1970 and 9999',
})

/**
 * A time in a request (SPEC §3): RFC 3339 with any offset, or a local date-time without offset that
 * the operation reads in the lock's zone once the lock is known (`resolveRequestTime` of core).
 */
export const requestTime = (what: string) =>
  z
    .string()
    .max(64)
    .refine(isRequestTime, { message: `must be ${REQUEST_TIME_FORMATS}` })
    .meta({
      description: `${what} ${REQUEST_TIME_FORMATS}. A local time that a DST change skips or repeats is refused (400 \`validation_failed\`, naming both readings).`,
      examples: ['2026-12-03T10:00', '2026-12-03T10:00:00+11:00', '2026-12-02T23:00:00Z'],
    })

/** The same instant in the lock's zone, beside each UTC time of an answer: `2026-12-03T10:00+11:00`. */
export const ZLocalTimestamp = z
  .string()
  .describe('The same instant in the lock’s time zone, with its offset, e.g. `2026-12-03T10:00+11:00`.')

export const localOrNull = (date: Date | null, timezone: string): string | null =>
  date === null ? null : localIso(date.getTime(), timezone)

export const iso = (date: Date): string => date.toISOString()
export const isoOrNull = (date: Date | null): string | null => (date === null ? null : date.toISOString())

/** Trimmed and lower-cased before it is checked. */
export const ZEmail = z.string().trim().toLowerCase().pipe(z.email().max(254))
export const ZPassword = z.string().min(8, 'at least 8 characters').max(256)
export const ZRole = z.enum(['owner', 'admin', 'member'])

export const ZIdParams = z.object({ id: z.string().max(64) })

/** A list answers `{items, nextCursor?}`. */
export const list = <T extends z.ZodType>(item: T) =>
  z.object({ items: z.array(item), nextCursor: z.string().optional() })

const problemResponse = (description: string) => ({
  description,
  content: { [PROBLEM_CONTENT_TYPE]: { schema: ZProblem } },
})

/** Error responses, documented in OpenAPI (the body is always a Problem). */
export const PROBLEMS = {
  400: problemResponse('The request is not valid (`validation_failed`).'),
  401: problemResponse('No valid credential (`unauthorized`, `invalid_credentials`).'),
  403: problemResponse('The role does not allow it (`forbidden`).'),
  404: problemResponse('No such resource in this organization (`not_found`).'),
  409: problemResponse('It conflicts with the current state (`conflict`, `email_taken`).'),
  429: problemResponse('Too many attempts (`rate_limited`); see Retry-After.'),
  503: problemResponse(
    'A service the server needs (the MQTT broker, the store) did not answer (`service_unavailable`); try again.',
  ),
} as const

export const problems = <K extends keyof typeof PROBLEMS>(...statuses: K[]) =>
  Object.fromEntries(statuses.map((s) => [s, PROBLEMS[s]])) as Pick<typeof PROBLEMS, K>
