/**
 * Members of an organization. A person joins only by accepting an invitation (invitations.ts).
 *
 * Owners and admins change roles and remove members, under these rules:
 * - only an owner makes someone an owner, changes an owner's role or removes an owner;
 * - an organization always has an owner: the last one can be neither demoted nor removed.
 * Both run on the organization's membership rows locked for the change, so two owners demoting each
 * other at once leave one owner. A removed member's sessions and API keys stop at once, and a changed
 * role holds from the next request (both are read from the membership at each request).
 */
import { LatchkeyError } from '@latchkey/core'
import { and, asc, eq } from 'drizzle-orm'
import type { Db } from '../store/index.ts'
import { isUuid, memberships, type Role, users } from '../store/index.ts'

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

interface Actor {
  organizationId: string
  userId: string
  role: Role
}

type Change = { to: Role } | 'remove'

/** Checks a change of `userId`'s membership against the rules, on the locked rows. */
async function checkedChange(tx: Db, actor: Actor, userId: string, change: Change): Promise<void> {
  const members = await tx
    .select({ userId: memberships.userId, role: memberships.role })
    .from(memberships)
    .where(eq(memberships.organizationId, actor.organizationId))
    .for('update')
  const target = isUuid(userId) ? members.find((m) => m.userId === userId) : undefined
  if (target === undefined) throw new LatchkeyError('not_found', `no member ${userId}`)
  // the actor's role as it is now, under the same lock (it may have changed since the request began)
  const actorRole = members.find((m) => m.userId === actor.userId)?.role
  if (actorRole !== 'owner' && actorRole !== 'admin')
    throw new LatchkeyError('forbidden', 'only owner or admin can change members')
  const losesOwner = target.role === 'owner' && (change === 'remove' || change.to !== 'owner')
  const makesOwner = change !== 'remove' && change.to === 'owner' && target.role !== 'owner'
  if ((losesOwner || makesOwner) && actorRole !== 'owner') {
    throw new LatchkeyError(
      'forbidden',
      change === 'remove'
        ? 'only an owner can remove an owner'
        : "only an owner can make someone an owner or change an owner's role",
    )
  }
  if (losesOwner && members.filter((m) => m.role === 'owner').length === 1) {
    throw new LatchkeyError(
      'conflict',
      change === 'remove'
        ? 'the last owner cannot be removed: make someone else an owner first'
        : 'the last owner cannot change role: make someone else an owner first',
    )
  }
}

export async function updateMemberRole(
  db: Db,
  actor: Actor,
  userId: string,
  role: Role,
): Promise<MemberView> {
  await db.transaction(async (tx) => {
    await checkedChange(tx, actor, userId, { to: role })
    await tx
      .update(memberships)
      .set({ role })
      .where(and(eq(memberships.organizationId, actor.organizationId), eq(memberships.userId, userId)))
  })
  const [member] = await db
    .select(view)
    .from(memberships)
    .innerJoin(users, eq(users.id, memberships.userId))
    .where(and(eq(memberships.organizationId, actor.organizationId), eq(memberships.userId, userId)))
  return member!
}

export async function removeMember(db: Db, actor: Actor, userId: string): Promise<void> {
  await db.transaction(async (tx) => {
    await checkedChange(tx, actor, userId, 'remove')
    await tx
      .delete(memberships)
      .where(and(eq(memberships.organizationId, actor.organizationId), eq(memberships.userId, userId)))
  })
}
