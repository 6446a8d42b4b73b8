/**
 * The one error class of Latchkey and its closed set of codes.
 * Callers match on `code`, never on the message. `ERROR_STATUS` is the only place that maps a code
 * to an HTTP status; docs/ERRORS.md documents every code (a test keeps the two in step).
 */
export const ERROR_STATUS = {
  // request and auth
  validation_failed: 400,
  unauthorized: 401,
  invalid_credentials: 401,
  invalid_code: 401,
  forbidden: 403,
  unique_codes_disabled: 403,
  not_found: 404,
  conflict: 409,
  email_taken: 409,
  code_bound_to_other_device: 409,
  rate_limited: 429,
  // access codes and locks
  invalid_pin: 422,
  weak_pin: 422,
  invalid_window: 422,
  invalid_schedule: 422,
  invalid_timezone: 422,
  expiry_too_far: 422,
  expiry_in_past: 422,
  level_not_allowed: 422,
  duplicate_code_on_lock: 409,
  lock_full: 409,
  lock_offline: 409,
  lock_clock_not_set: 409,
  failed_to_set: 502,
  failed_to_remove: 502,
  offline_code_unavailable: 422,
  not_supported_by_driver: 422,
  // sealed frames between server and lock
  frame_truncated: 400,
  frame_unsupported: 400,
  frame_forged: 400,
  frame_replayed: 400,
  // everything else
  service_unavailable: 503,
  internal: 500,
} as const satisfies Record<string, number>

export type ErrorCode = keyof typeof ERROR_STATUS

export const ERROR_CODES = Object.keys(ERROR_STATUS) as ErrorCode[]

export interface ErrorOptions {
  /** Overrides the status of the code table (rarely right; prefer another code). */
  status?: number
  /** A sentence safe to show to an end user. Defaults to the message. */
  userMessage?: string
  /** Structured details (e.g. which field failed validation). */
  details?: unknown
  cause?: unknown
}

export class LatchkeyError extends Error {
  override readonly name = 'LatchkeyError'
  readonly code: ErrorCode
  readonly status: number
  readonly userMessage: string
  readonly details: unknown

  constructor(code: ErrorCode, message: string, options: ErrorOptions = {}) {
    super(message, options.cause === undefined ? undefined : { cause: options.cause })
    this.code = code
    this.status = options.status ?? ERROR_STATUS[code]
    this.userMessage = options.userMessage ?? message
    this.details = options.details
  }
}

export function isLatchkeyError(value: unknown, code?: ErrorCode): value is LatchkeyError {
  return value instanceof LatchkeyError && (code === undefined || value.code === code)
}
