/**
 * Invitations: the one way a person joins an organization (SPEC §8).
 *
 * - An owner or admin invites an e-mail with a role (only an owner invites an owner); the answer
 *   carries the token, in a link, once. The same answer whether or not the e-mail has an account
 *   anywhere; only a member of this organization already is refused (the inviter can see those).
 *   Inviting an e-mail again replaces its pending invitation (the old link stops working).
 * - The link is valid for 7 days and used once. Accepting it with a password either makes the
 *   account (an e-mail without one) or, for an e-mail that has an account, signs in with that
 *   account's password (throttled as a login is); a signed-in person with that e-mail needs none.
 *   Either way the person joins with the role and gets a session in that organization.
 */
import { LatchkeyError } from '@latchkey/core'
import { and, asc, eq } from 'drizzle-orm'
import { generateInvitationToken, hashPassword, hashToken } from '../credentials.ts'
import type { Db } from '../store/index.ts'
import {
  invitations,
  isUniqueViolation,
  isUuid,
  memberships,
  organizations,
  type Role,
  users,
} from '../store/index.ts'
import { checkPassword } from './login.ts'
import { createSession } from './sessions.ts'
import { emailTaken, normalizeEmail } from './signup.ts'
import type { LoginThrottleConfig } from './throttle.ts'

export const INVITATION_TTL_MS = 7 * 86_400_000

export interface InvitationView {
  id: string
  email: string
  role: Role
  status: 'pending' | 'expired'
  createdAt: Date
  expiresAt: Date
}

type Row = typeof invitations.$inferSelect

const toView = (row: Row, nowMs: number): InvitationView => ({
  id: row.id,
  email: row.email,
  role: row.role,
  status: row.expiresAt.getTime() > nowMs ? 'pending' : 'expired',
  createdAt: row.createdAt,
  expiresAt: row.expiresAt,
})

interface Actor {
  organizationId: string
  userId: string
  role: Role
}

export async function createInvitation(
  db: Db,
  nowMs: number,
  actor: Actor,
  input: { email: string; role: Role },
): Promise<{ invitation: InvitationView; token: string }> {
  if (input.role === 'owner' && actor.role !== 'owner') {
    throw new LatchkeyError('forbidden', 'only an owner can invite an owner')
  }
  const email = normalizeEmail(input.email)
  const [member] = await db
    .select({ userId: memberships.userId })
    .from(memberships)
    .innerJoin(users, eq(users.id, memberships.userId))
    .where(and(eq(memberships.organizationId, actor.organizationId), eq(users.email, email)))
  if (member !== undefined) throw new LatchkeyError('conflict', `${email} is already a member`)
  const token = generateInvitationToken()
  const row = await db.transaction(async (tx) => {
    await tx
      .delete(invitations)
      .where(and(eq(invitations.organizationId, actor.organizationId), eq(invitations.email, email)))
    const [inserted] = await tx
      .insert(invitations)
      .values({
        organizationId: actor.organizationId,
        email,
        role: input.role,
        tokenHash: hashToken(token),
        invitedBy: actor.userId,
        createdAt: new Date(nowMs),
        expiresAt: new Date(nowMs + INVITATION_TTL_MS),
      })
      .returning()
    return inserted!
  })
  return { invitation: toView(row, nowMs), token }
}

export async function listInvitations(
  db: Db,
  nowMs: number,
  organizationId: string,
): Promise<InvitationView[]> {
  const rows = await db
    .select()
    .from(invitations)
    .where(eq(invitations.organizationId, organizationId))
    .orderBy(asc(invitations.createdAt), asc(invitations.email))
  return rows.map((row) => toView(row, nowMs))
}

function noInvitation(id: string): LatchkeyError {
  return new LatchkeyError('not_found', `no invitation ${id}`)
}

export async function getInvitation(
  db: Db,
  nowMs: number,
  organizationId: string,
  id: string,
): Promise<InvitationView> {
  if (!isUuid(id)) throw noInvitation(id)
  const [row] = await db
    .select()
    .from(invitations)
    .where(and(eq(invitations.organizationId, organizationId), eq(invitations.id, id)))
  if (row === undefined) throw noInvitation(id)
  return toView(row, nowMs)
}

/** Revokes a pending invitation: its link stops working at once. */
export async function revokeInvitation(db: Db, organizationId: string, id: string): Promise<void> {
  if (!isUuid(id)) throw noInvitation(id)
  const deleted = await db
    .delete(invitations)
    .where(and(eq(invitations.organizationId, organizationId), eq(invitations.id, id)))
    .returning({ id: invitations.id })
  if (deleted.length === 0) throw noInvitation(id)
}

function linkNotValid(): LatchkeyError {
  return new LatchkeyError(
    'not_found',
    'this invitation link is not valid: it was used or revoked, or it is more than 7 days old. Ask for a new one',
  )
}

/** What a link is for, shown before it is accepted: nothing about whether the e-mail has an account. */
export async function describeInvitation(
  db: Db,
  nowMs: number,
  token: string,
): Promise<{ organizationName: string; email: string; role: Role; expiresAt: Date }> {
  const [row] = await db
    .select({
      organizationName: organizations.name,
      email: invitations.email,
      role: invitations.role,
      expiresAt: invitations.expiresAt,
    })
    .from(invitations)
    .innerJoin(organizations, eq(organizations.id, invitations.organizationId))
    .where(eq(invitations.tokenHash, hashToken(token)))
  if (row === undefined || row.expiresAt.getTime() <= nowMs) throw linkNotValid()
  return row
}

export interface AcceptInvitationInput {
  token: string
  /** A new account's password, or the password of the account the e-mail already has. */
  password?: string | undefined
  /** A new account's name. */
  name?: string | undefined
  /** The user of the session the request presents, if any. */
  signedInUserId: string | null
  /** The client's address, for the password throttle. */
  address: string
}

export async function acceptInvitation(
  db: Db,
  nowMs: number,
  throttle: LoginThrottleConfig,
  input: AcceptInvitationInput,
): Promise<{ userId: string; organizationId: string; role: Role; token: string; expiresAt: Date }> {
  const tokenHash = hashToken(input.token)
  const [invitation] = await db.select().from(invitations).where(eq(invitations.tokenHash, tokenHash))
  if (invitation === undefined || invitation.expiresAt.getTime() <= nowMs) throw linkNotValid()
  const email = invitation.email
  const [user] = await db.select({ id: users.id }).from(users).where(eq(users.email, email))

  let userId: string | null = null
  let newAccount: { passwordHash: string } | null = null
  if (user !== undefined && input.signedInUserId === user.id) {
    userId = user.id
  } else if (input.password === undefined) {
    throw new LatchkeyError(
      'validation_failed',
      'give a password: a new one for a new account, or the one of your account with this e-mail',
      { details: { errors: [{ in: 'body', field: 'password', message: 'required' }] } },
    )
  } else if (user !== undefined) {
    // a login, throttled as one
    userId = await checkPassword(db, nowMs, throttle, {
      email,
      password: input.password,
      address: input.address,
    })
  } else {
    newAccount = { passwordHash: await hashPassword(input.password) }
  }

  const createdAt = new Date(nowMs)
  let joinedUserId: string
  try {
    joinedUserId = await db.transaction(async (tx) => {
      // used once: whoever deletes the row first joins
      const [taken] = await tx
        .delete(invitations)
        .where(eq(invitations.id, invitation.id))
        .returning({ id: invitations.id })
      if (taken === undefined) throw linkNotValid()
      let id = userId
      if (id === null) {
        const [created] = await tx
          .insert(users)
          .values({ email, name: input.name ?? null, passwordHash: newAccount!.passwordHash, createdAt })
          .returning({ id: users.id })
        id = created!.id
      }
      await tx
        .insert(memberships)
        .values({ organizationId: invitation.organizationId, userId: id, role: invitation.role, createdAt })
        .onConflictDoNothing()
      return id
    })
  } catch (error) {
    // an account made for this e-mail meanwhile: accept again with its password
    if (isUniqueViolation(error)) throw emailTaken(email)
    throw error
  }
  const session = await createSession(db, nowMs, joinedUserId, invitation.organizationId)
  return {
    userId: joinedUserId,
    organizationId: invitation.organizationId,
    role: invitation.role,
    ...session,
  }
}
