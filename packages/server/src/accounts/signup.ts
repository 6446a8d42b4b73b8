import { LatchkeyError } from '@latchkey/core'
import { hashPassword } from '../credentials.ts'
import type { Db } from '../store/index.ts'
import { isUniqueViolation, memberships, organizations, users } from '../store/index.ts'
import { createSession } from './sessions.ts'

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

/** A new organization with its owner, who is signed in at once. */
export async function signup(db: Db, nowMs: number, input: SignupInput): Promise<SignupResult> {
  const email = normalizeEmail(input.email)
  const passwordHash = await hashPassword(input.password)
  const createdAt = new Date(nowMs)
  let ids: { userId: string; organizationId: string }
  try {
    ids = await db.transaction(async (tx) => {
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
