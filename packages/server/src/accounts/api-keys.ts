import { LatchkeyError } from '@latchkey/core'
import { and, asc, eq } from 'drizzle-orm'
import { generateApiKey, hashToken } from '../credentials.ts'
import type { Db } from '../store/index.ts'
import { type ApiKey, apiKeys, isUuid } from '../store/index.ts'

export type ApiKeyView = Pick<ApiKey, 'id' | 'name' | 'prefix' | 'createdBy' | 'createdAt' | 'lastUsedAt'>

const view = {
  id: apiKeys.id,
  name: apiKeys.name,
  prefix: apiKeys.prefix,
  createdBy: apiKeys.createdBy,
  createdAt: apiKeys.createdAt,
  lastUsedAt: apiKeys.lastUsedAt,
}

/** A new key of the organization; the key itself is returned here only. */
export async function createApiKey(
  db: Db,
  nowMs: number,
  organizationId: string,
  createdBy: string,
  name: string,
): Promise<ApiKeyView & { key: string }> {
  const { key, prefix } = generateApiKey()
  const [row] = await db
    .insert(apiKeys)
    .values({
      organizationId,
      createdBy,
      name: name.trim(),
      prefix,
      keyHash: hashToken(key),
      createdAt: new Date(nowMs),
    })
    .returning(view)
  return { ...row!, key }
}

export function listApiKeys(db: Db, organizationId: string): Promise<ApiKeyView[]> {
  return db
    .select(view)
    .from(apiKeys)
    .where(eq(apiKeys.organizationId, organizationId))
    .orderBy(asc(apiKeys.createdAt), asc(apiKeys.id))
}

/** Revokes a key of the organization at once; 404 for a key of another organization. */
export async function deleteApiKey(db: Db, organizationId: string, id: string): Promise<void> {
  const deleted = isUuid(id)
    ? await db
        .delete(apiKeys)
        .where(and(eq(apiKeys.id, id), eq(apiKeys.organizationId, organizationId)))
        .returning({ id: apiKeys.id })
    : []
  if (deleted.length === 0) throw new LatchkeyError('not_found', `no API key ${id}`)
}
