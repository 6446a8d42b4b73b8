/**
 * Sign-up: a new organization and its owner, signed in at once.
 *
 * Who may sign up is the server's `LATCHKEY_SIGNUP` mode: `first` (the default: only while no
 * organization exists, so the person installing the server makes the first owner), `open` (anyone),
 * or `closed` (nobody; owners are made with `latchkey admin create-owner`, members by invitation).
 * The public route checks, in this order and before any password is hashed: the body (zod), the
 * mode, the throttle per client network. Every attempt counts against the throttle, successful or not.
 */
import { LatchkeyError } from '@latchkey/core'
import { sql } from 'drizzle-orm'
import { hashPassword } from '../credentials.ts'
import type { Db } from '../store/index.ts'
import { isUniqueViolation, memberships, organizations, users } from '../store/index.ts'
import { countOrganizations } from './create-owner.ts'
import { createSession } from './sessions.ts'
import { addressThrottleKey, beginAttempt, type ThrottleRule } from './throttle.ts'

export const SIGNUP_MODES = ['first', 'open', 'closed'] as const
export type SignupMode = (typeof SIGNUP_MODES)[number]
export const DEFAULT_SIGNUP_MODE: SignupMode = 'first'

/** Sign-ups per client network (addressThrottleKey: IPv4 address, IPv6 /64), successful or not. */
export const DEFAULT_SIGNUP_THROTTLE: ThrottleRule = { limit: 10, windowMs: 60 * 60_000 }

/** LATCHKEY_SIGNUP / --signup: blank means the default; anything else but a mode is refused. */
export function parseSignupMode(value: string | undefined): SignupMode {
  const text = value?.trim().toLowerCase()
  if (text === undefined || text === '') return DEFAULT_SIGNUP_MODE
  if ((SIGNUP_MODES as readonly string[]).includes(text)) return text as SignupMode
  throw new LatchkeyError(
    'validation_failed',
    `the sign-up mode “${value}” is not one: give first, open or closed (--signup or LATCHKEY_SIGNUP; default first)`,
  )
}

export interface SignupInput {
  email: string
  password: string
  organizationName: string
  name?: string | undefined
}

export interface SignupResult {
  userId: string
  organizationId: string
  token: string
  expiresAt: Date
}

/** Namespace of the advisory lock under which `first` checks that no organization exists yet. */
const SIGNUP_LOCK = 0x4c4b_5355 // "LKSU"

/** Whether a sign-up may be tried now (nothing is hashed or written). */
export async function signupAllowed(db: Db, mode: SignupMode): Promise<boolean> {
  if (mode === 'open') return true
  if (mode === 'closed') return false
  return (await countOrganizations(db)) === 0
}

function signupClosed(): LatchkeyError {
  return new LatchkeyError(
    'forbidden',
    'sign-up is closed on this server: ask an owner or admin of your organization for an invitation',
  )
}

/** `POST /auth/signup`: the mode, then the throttle, then the password is hashed and the rows written. */
export async function publicSignup(
  db: Db,
  nowMs: number,
  settings: { mode: SignupMode; throttle: ThrottleRule },
  input: SignupInput & { address: string },
): Promise<SignupResult> {
  if (!(await signupAllowed(db, settings.mode))) throw signupClosed()
  await beginAttempt(db, nowMs, [
    { scope: 'signup_address', key: addressThrottleKey(input.address), rule: settings.throttle },
  ])
  return signup(db, nowMs, input, { onlyFirst: settings.mode === 'first' })
}

/**
 * A new organization with its owner, who is signed in at once (also `admin create-owner` and the
 * demo, which are not bound by the mode). `onlyFirst`: refused when an organization exists by the
 * time the rows are written (two first sign-ups at once: one wins).
 */
export async function signup(
  db: Db,
  nowMs: number,
  input: SignupInput,
  options: { onlyFirst?: boolean } = {},
): Promise<SignupResult> {
  const email = normalizeEmail(input.email)
  const passwordHash = await hashPassword(input.password)
  const createdAt = new Date(nowMs)
  let ids: { userId: string; organizationId: string }
  try {
    ids = await db.transaction(async (tx) => {
      if (options.onlyFirst) {
        await tx.execute(sql`select pg_advisory_xact_lock(${SIGNUP_LOCK})`)
        if ((await countOrganizations(tx)) > 0) throw signupClosed()
      }
      const [user] = await tx
        .insert(users)
        .values({ email, name: input.name ?? null, passwordHash, createdAt })
        .returning({ id: users.id })
      const [org] = await tx
        .insert(organizations)
        .values({ name: input.organizationName.trim(), createdAt })
        .returning({ id: organizations.id })
      await tx
        .insert(memberships)
        .values({ organizationId: org!.id, userId: user!.id, role: 'owner', createdAt })
      return { userId: user!.id, organizationId: org!.id }
    })
  } catch (error) {
    if (isUniqueViolation(error)) throw emailTaken(email)
    throw error
  }
  const session = await createSession(db, nowMs, ids.userId, ids.organizationId)
  return { ...ids, ...session }
}

export function normalizeEmail(email: string): string {
  return email.trim().toLowerCase()
}

export function emailTaken(email: string): LatchkeyError {
  return new LatchkeyError('email_taken', `an account with the email ${email} already exists`)
}
