import { LatchkeyError } from '@latchkey/core'
import { eq, sql } from 'drizzle-orm'
import type { Db } from '../store/index.ts'
import { DEFAULT_ORGANIZATION_SETTINGS, type OrganizationSettings, organizations } from '../store/index.ts'

export async function getOrganizationSettings(db: Db, organizationId: string): Promise<OrganizationSettings> {
  const [row] = await db
    .select({ settings: organizations.settings })
    .from(organizations)
    .where(eq(organizations.id, organizationId))
  if (row === undefined) throw new LatchkeyError('not_found', `no organization ${organizationId}`)
  return { ...DEFAULT_ORGANIZATION_SETTINGS, ...row.settings }
}

/** Changes only the given settings, in one statement (two admins changing different settings both win). */
export async function updateOrganizationSettings(
  db: Db,
  organizationId: string,
  patch: Partial<OrganizationSettings>,
): Promise<OrganizationSettings> {
  const defined = Object.fromEntries(Object.entries(patch).filter(([, value]) => value !== undefined))
  const [row] = await db
    .update(organizations)
    .set({ settings: sql`${organizations.settings} || ${JSON.stringify(defined)}::jsonb` })
    .where(eq(organizations.id, organizationId))
    .returning({ settings: organizations.settings })
  if (row === undefined) throw new LatchkeyError('not_found', `no organization ${organizationId}`)
  return { ...DEFAULT_ORGANIZATION_SETTINGS, ...row.settings }
}
