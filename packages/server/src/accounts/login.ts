import { LatchkeyError } from '@latchkey/core'
import { asc, eq } from 'drizzle-orm'
import { verifyPassword } from '../credentials.ts'
import type { Db } from '../store/index.ts'
import { memberships, users } from '../store/index.ts'
import { createSession } from './sessions.ts'
import { normalizeEmail } from './signup.ts'
import {
  addressThrottleKey,
  beginAttempt,
  forgetAttempt,
  forgetKey,
  type LoginThrottleConfig,
} from './throttle.ts'

export interface LoginInput {
  email: string
  password: string
  /** For a user of several organizations: which one to sign in to (default: the one joined first). */
  organizationId?: string | undefined
  /** The client's address, throttled as well as the email. */
  address: string
}

/**
 * Checks email and password and opens a session. Throttled per (email, client network), more
 * loosely per email, and per client network
 * (429 `rate_limited`); a wrong email and a wrong password answer the same 401.
 */
export async function login(
  db: Db,
  nowMs: number,
  throttle: LoginThrottleConfig,
  input: LoginInput,
): Promise<{ token: string; expiresAt: Date; userId: string; organizationId: string }> {
  const userId = await checkPassword(db, nowMs, throttle, input)
  const joined = await db
    .select({ organizationId: memberships.organizationId })
    .from(memberships)
    .where(eq(memberships.userId, userId))
    .orderBy(asc(memberships.createdAt))
  const organizationId =
    input.organizationId === undefined
      ? joined[0]?.organizationId
      : joined.find((m) => m.organizationId === input.organizationId)?.organizationId
  if (organizationId === undefined) {
    throw new LatchkeyError(
      'forbidden',
      input.organizationId === undefined
        ? 'this account is not a member of any organization'
        : 'this account is not a member of that organization',
    )
  }
  const session = await createSession(db, nowMs, userId, organizationId)
  return { ...session, userId, organizationId }
}

/**
 * An e-mail and its password, under the login throttle (also accepting an invitation with an
 * existing account): the user's id, or the same 401 for a wrong password and an unknown e-mail.
 */
export async function checkPassword(
  db: Db,
  nowMs: number,
  throttle: LoginThrottleConfig,
  input: { email: string; password: string; address: string },
): Promise<string> {
  const email = normalizeEmail(input.email)
  const network = addressThrottleKey(input.address)
  const attempt = await beginAttempt(db, nowMs, [
    { scope: 'email_address', key: `${email} ${network}`, rule: throttle.perEmailAddress },
    { scope: 'email', key: email, rule: throttle.perEmail },
    { scope: 'address', key: network, rule: throttle.perAddress },
  ])
  const [user] = await db.select().from(users).where(eq(users.email, email))
  const valid = await verifyPassword(user?.passwordHash ?? null, input.password)
  if (user === undefined || !valid) {
    throw new LatchkeyError('invalid_credentials', 'the email or the password is wrong')
  }
  await forgetAttempt(db, attempt)
  await forgetKey(db, 'email_address', `${email} ${network}`)
  return user.id
}
