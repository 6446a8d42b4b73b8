import { type SQL, sql } from 'drizzle-orm'
import { properties } from './schema.ts'

/**
 * The ids of the locks of a property of the organization (SPEC §11: a property holds some of the
 * organization's locks), as a subquery for `lock_id in (…)`: none when the property is deleted or
 * belongs to another organization. The caller has checked that `propertyId` is a UUID.
 */
export function propertyLockIds(organizationId: string, propertyId: string): SQL {
  return sql`(select jsonb_array_elements_text(${properties.lockIds})::uuid from ${properties} where ${properties.id} = ${propertyId} and ${properties.organizationId} = ${organizationId} and ${properties.deletedAt} is null)`
}

/** Whether the organization has this property (not deleted), as an SQL condition. */
export function propertyIsLive(organizationId: string, propertyId: string): SQL {
  return sql`exists (select 1 from ${properties} where ${properties.id} = ${propertyId} and ${properties.organizationId} = ${organizationId} and ${properties.deletedAt} is null)`
}
