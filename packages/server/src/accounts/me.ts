import { LatchkeyError } from '@latchkey/core'
import { asc, eq } from 'drizzle-orm'
import type { Db } from '../store/index.ts'
import { memberships, organizations, type Role, users } from '../store/index.ts'
import type { AuthContext } from './sessions.ts'

export interface MeView {
  userId: string
  email: string
  name: string | null
  organizationId: string
  organizationName: string
  role: Role
  via: AuthContext['via']
  organizations: { id: string; name: string; role: Role }[]
}

export async function getMe(db: Db, auth: AuthContext): Promise<MeView> {
  const [user] = await db
    .select({ email: users.email, name: users.name })
    .from(users)
    .where(eq(users.id, auth.userId))
  const joined = await db
    .select({ id: organizations.id, name: organizations.name, role: memberships.role })
    .from(memberships)
    .innerJoin(organizations, eq(organizations.id, memberships.organizationId))
    .where(eq(memberships.userId, auth.userId))
    .orderBy(asc(memberships.createdAt))
  const current = joined.find((org) => org.id === auth.organizationId)
  if (user === undefined || current === undefined)
    throw new LatchkeyError('unauthorized', 'the session has ended')
  return {
    userId: auth.userId,
    email: user.email,
    name: user.name,
    organizationId: current.id,
    organizationName: current.name,
    role: auth.role,
    via: auth.via,
    organizations: joined,
  }
}
