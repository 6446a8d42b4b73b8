/**
 * RFC 9457 problem details, the one shape every Latchkey HTTP API answers an error with (the
 * server's API and the simulator control API): `{ type, title, status, code, detail, errors? }`.
 */
import { ERROR_STATUS, type ErrorCode } from './errors.ts'

export const PROBLEM_CONTENT_TYPE = 'application/problem+json'

export interface FieldError {
  in?: 'body' | 'querystring' | 'params' | 'headers'
  field: string
  message: string
}

export interface Problem {
  type: string
  title: string
  status: number
  code: ErrorCode
  detail: string
  errors?: FieldError[]
}

/** Details a LatchkeyError may carry that shape the response. */
export interface ProblemDetails {
  errors?: FieldError[]
  /** rate_limited: seconds until a new attempt can succeed (the Retry-After header). */
  retryAfterSeconds?: number
}

export function problemType(code: ErrorCode): string {
  return `urn:latchkey:error:${code}`
}

export function problemTitle(code: ErrorCode): string {
  const words = code.replaceAll('_', ' ')
  return words.charAt(0).toUpperCase() + words.slice(1)
}

export function problem(
  code: ErrorCode,
  detail: string,
  status: number = ERROR_STATUS[code],
  errors?: FieldError[],
): Problem {
  return {
    type: problemType(code),
    title: problemTitle(code),
    status,
    code,
    detail,
    ...(errors === undefined ? {} : { errors }),
  }
}

/**
 * What a LatchkeyError's `details` add to its problem: `{errors, retryAfterSeconds}`, or a list of
 * field errors (ours, with `field`, or zod issues, with `path`, as the parsers attach them).
 */
export function problemDetails(details: unknown): ProblemDetails {
  if (Array.isArray(details)) {
    const errors = details.flatMap((item: unknown): FieldError[] => {
      if (typeof item !== 'object' || item === null) return []
      const { field, path, message } = item as { field?: unknown; path?: unknown; message?: unknown }
      if (typeof message !== 'string') return []
      if (typeof field === 'string') return [item as FieldError]
      if (Array.isArray(path)) return [{ field: path.join('.'), message }]
      return []
    })
    return errors.length > 0 ? { errors } : {}
  }
  if (typeof details !== 'object' || details === null) return {}
  const { errors, retryAfterSeconds } = details as ProblemDetails
  return {
    ...(Array.isArray(errors) ? { errors } : {}),
    ...(typeof retryAfterSeconds === 'number' ? { retryAfterSeconds } : {}),
  }
}
