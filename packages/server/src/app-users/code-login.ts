/**
 * Code Login (SPEC §4): a person types a unique code into the app and gets a session for the locks
 * shared to it.
 * - The code is read case-insensitively, spaces and dashes ignored, O→0, I/L→1, and found by its
 *   keyed hash (nothing is decrypted, and no organization is named).
 * - A wrong, expired or deleted code answers the same 401 `invalid_code`.
 * - The first device to log in is bound to the code; another device is refused (409
 *   `code_bound_to_other_device`) until an admin resets the binding.
 * - Throttled per client network and per device before anything is looked up (429 `rate_limited`).
 * - Every attempt is audited: on a code of an organization as `unique_code.login` or
 *   `unique_code.login_failed` (with the client address and device id, never what was typed);
 *   an attempt that names no organization's code (unknown, malformed, throttled) goes to the log.
 */
import { type Clock, LatchkeyError, normalizeUniqueCode } from '@latchkey/core'
import { and, eq, isNull } from 'drizzle-orm'
import { beginAttempt, forgetAttempt } from '../accounts/index.ts'
import { secretsEqual } from '../credentials.ts'
import { recordEvent } from '../events/index.ts'
import type { Secrets } from '../secrets.ts'
import type { Db } from '../store/index.ts'
import { type UniqueCode, uniqueCodes } from '../store/index.ts'
import { type AppLockView, listAppLocks } from './app-locks.ts'
import { createAppSession } from './app-sessions.ts'
import { type CodeLoginThrottleConfig, codeLoginThrottleKeys } from './code-login-throttle.ts'

export interface CodeLoginInput {
  code: string
  deviceId: string
  /** The client's address (throttled, and recorded in the audit). */
  address: string
}

export interface CodeLoginResult {
  token: string
  expiresAt: Date
  locks: AppLockView[]
}

/** How an attempt ended (the outcome label of the `code_logins_total` metric). */
export type CodeLoginOutcome =
  | 'success'
  | 'throttled'
  | 'malformed'
  | 'unknown_code'
  | 'expired'
  | 'deleted'
  | 'bound_to_other_device'

export interface CodeLoginDeps {
  db: Db
  secrets: Secrets
  clock: Clock
  throttle: CodeLoginThrottleConfig
  /** Called once per attempt with its outcome; for the log and metrics. */
  onAttempt?: (attempt: {
    outcome: CodeLoginOutcome
    address: string
    deviceId: string
    uniqueCodeId: string | null
  }) => void
}

export const invalidCode = (): LatchkeyError =>
  new LatchkeyError('invalid_code', 'this code is not valid: check it and try again')

export async function codeLogin(deps: CodeLoginDeps, input: CodeLoginInput): Promise<CodeLoginResult> {
  const { db } = deps
  const nowMs = deps.clock.now()
  const now = new Date(nowMs)
  const report = (outcome: CodeLoginOutcome, code: UniqueCode | null) =>
    deps.onAttempt?.({
      outcome,
      address: input.address,
      deviceId: input.deviceId,
      uniqueCodeId: code?.id ?? null,
    })
  const audit = (type: 'unique_code.login' | 'unique_code.login_failed', code: UniqueCode, reason?: string) =>
    recordEvent(db, {
      organizationId: code.organizationId,
      type,
      occurredAt: now,
      uniqueCodeId: code.id,
      label: code.description,
      data: { address: input.address, deviceId: input.deviceId, ...(reason === undefined ? {} : { reason }) },
    })

  let attempt: Awaited<ReturnType<typeof beginAttempt>>
  try {
    attempt = await beginAttempt(
      db,
      nowMs,
      codeLoginThrottleKeys(deps.throttle, input.address, input.deviceId),
    )
  } catch (error) {
    report('throttled', null)
    throw error
  }

  const canonical = normalizeUniqueCode(input.code)
  // A malformed entry costs the same look-up as a well-formed one.
  const hash = deps.secrets.lookupHash('unique_code', canonical ?? `malformed:${input.code}`)
  const [code] = await db.select().from(uniqueCodes).where(eq(uniqueCodes.codeHash, hash))
  if (canonical === null || code === undefined) {
    report(canonical === null ? 'malformed' : 'unknown_code', null)
    throw invalidCode()
  }
  if (code.deletedAt !== null || code.expiresAt.getTime() <= nowMs) {
    const reason = code.deletedAt !== null ? 'deleted' : 'expired'
    await audit('unique_code.login_failed', code, reason)
    report(reason, code)
    throw invalidCode()
  }

  // Bind the first device (one statement, so two devices at once cannot both be the first).
  const [bound] = await db
    .update(uniqueCodes)
    .set({ boundDeviceId: input.deviceId, boundAt: now })
    .where(and(eq(uniqueCodes.id, code.id), isNull(uniqueCodes.boundDeviceId), isNull(uniqueCodes.deletedAt)))
    .returning({ boundDeviceId: uniqueCodes.boundDeviceId })
  const [current] =
    bound === undefined
      ? await db
          .select({ boundDeviceId: uniqueCodes.boundDeviceId })
          .from(uniqueCodes)
          .where(eq(uniqueCodes.id, code.id))
      : [bound]
  if (current?.boundDeviceId == null || !secretsEqual(current.boundDeviceId, input.deviceId)) {
    await audit('unique_code.login_failed', code, 'bound_to_other_device')
    report('bound_to_other_device', code)
    throw new LatchkeyError(
      'code_bound_to_other_device',
      'this code is already in use on another device; ask the person who gave it to you to reset it',
    )
  }

  // A successful attempt does not count against the limits (failures before it still do).
  await forgetAttempt(db, attempt)
  const session = await createAppSession(db, nowMs, code, input.deviceId)
  await audit('unique_code.login', code)
  report('success', code)
  const locks = await listAppLocks(db, nowMs, {
    kind: 'unique_code',
    organizationId: code.organizationId,
    uniqueCodeId: code.id,
    codeExpiresAt: code.expiresAt,
    label: code.description,
    sessionId: '',
  })
  return { token: session.token, expiresAt: session.expiresAt, locks }
}
