/**
 * Members of an organization.
 *
 * Adding a member (owner or admin):
 * - an email that has no account yet: the account is created with the initial password given
 *   (required), which the admin passes on; the person signs in with it;
 * - an email that already has an account (e.g. a member of another organization): that account is
 *   added with the role; no password is taken (their own stays), and giving one is refused;
 * - only an owner may make someone an owner.
 * Removing a member ends their sessions and API keys in this organization at once (they are checked
 * against the membership at each request); the last owner cannot be removed.
 */
import { LatchkeyError } from '@latchkey/core'
import { and, asc, eq } from 'drizzle-orm'
import { hashPassword } from '../credentials.ts'
import type { Db } from '../store/index.ts'
import { isUniqueViolation, isUuid, memberships, type Role, users } from '../store/index.ts'
import { emailTaken, normalizeEmail } from './signup.ts'

export interface MemberView {
  userId: string
  email: string
  name: string | null
  role: Role
  createdAt: Date
}

const view = {
  userId: users.id,
  email: users.email,
  name: users.name,
  role: memberships.role,
  createdAt: memberships.createdAt,
}

export function listMembers(db: Db, organizationId: string): Promise<MemberView[]> {
  return db
    .select(view)
    .from(memberships)
    .innerJoin(users, eq(users.id, memberships.userId))
    .where(eq(memberships.organizationId, organizationId))
    .orderBy(asc(memberships.createdAt), asc(users.email))
}

export interface AddMemberInput {
  email: string
  role: Role
  password?: string | undefined
  name?: string | undefined
}

export async function addMember(
  db: Db,
  nowMs: number,
  actor: { organizationId: string; role: Role },
  input: AddMemberInput,
): Promise<{ member: MemberView; created: boolean }> {
  if (input.role === 'owner' && actor.role !== 'owner') {
    throw new LatchkeyError('forbidden', 'only an owner can add an owner')
  }
  const email = normalizeEmail(input.email)
  const createdAt = new Date(nowMs)
  let [user] = await db.select({ id: users.id }).from(users).where(eq(users.email, email))
  const created = user === undefined
  if (user === undefined) {
    if (input.password === undefined) {
      throw new LatchkeyError('validation_failed', `${email} has no account yet: give an initial password`, {
        details: { errors: [{ in: 'body', field: 'password', message: 'required for a new account' }] },
      })
    }
    const passwordHash = await hashPassword(input.password)
    try {
      ;[user] = await db
        .insert(users)
        .values({ email, name: input.name ?? null, passwordHash, createdAt })
        .returning({ id: users.id })
    } catch (error) {
      if (isUniqueViolation(error)) throw emailTaken(email)
      throw error
    }
  } else if (input.password !== undefined) {
    throw new LatchkeyError(
      'validation_failed',
      `${email} already has an account: it keeps its own password`,
      {
        details: {
          errors: [{ in: 'body', field: 'password', message: 'not accepted for an existing account' }],
        },
      },
    )
  }
  try {
    await db
      .insert(memberships)
      .values({ organizationId: actor.organizationId, userId: user!.id, role: input.role, createdAt })
  } catch (error) {
    if (isUniqueViolation(error)) throw new LatchkeyError('conflict', `${email} is already a member`)
    throw error
  }
  const [member] = await db
    .select(view)
    .from(memberships)
    .innerJoin(users, eq(users.id, memberships.userId))
    .where(and(eq(memberships.organizationId, actor.organizationId), eq(memberships.userId, user!.id)))
  return { member: member!, created }
}

export async function removeMember(
  db: Db,
  actor: { organizationId: string; role: Role; userId: string },
  userId: string,
): Promise<void> {
  const members = await db
    .select({ userId: memberships.userId, role: memberships.role })
    .from(memberships)
    .where(eq(memberships.organizationId, actor.organizationId))
  const target = isUuid(userId) ? members.find((m) => m.userId === userId) : undefined
  if (target === undefined) throw new LatchkeyError('not_found', `no member ${userId}`)
  if (target.role === 'owner' && actor.role !== 'owner') {
    throw new LatchkeyError('forbidden', 'only an owner can remove an owner')
  }
  if (target.role === 'owner' && members.filter((m) => m.role === 'owner').length === 1) {
    throw new LatchkeyError('conflict', 'the last owner cannot be removed')
  }
  await db
    .delete(memberships)
    .where(and(eq(memberships.organizationId, actor.organizationId), eq(memberships.userId, userId)))
}
