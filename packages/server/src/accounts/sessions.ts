/**
 * Sessions (portal and API) and the one place that turns a presented credential — a session
 * token or an API key — into who is asking: {userId, organizationId, role}. The role is read from
 * the membership at each request, so a removed member's sessions and keys stop at once.
 */
import { and, eq, gt, isNull, lt, or } from 'drizzle-orm'
import { API_KEY_PREFIX, generateSessionToken, hashToken, SESSION_TOKEN_PREFIX } from '../credentials.ts'
import type { Db } from '../store/index.ts'
import { apiKeys, memberships, type Role, sessions } from '../store/index.ts'

export const SESSION_TTL_MS = 30 * 24 * 3_600_000
/** An API key's `lastUsedAt` is written at most this often. */
const LAST_USED_RESOLUTION_MS = 60_000

export interface AuthContext {
  userId: string
  organizationId: string
  role: Role
  via: 'session' | 'api_key'
  /** The session's or API key's id. */
  credentialId: string
}

export async function createSession(
  db: Db,
  nowMs: number,
  userId: string,
  organizationId: string,
): Promise<{ token: string; expiresAt: Date }> {
  const token = generateSessionToken()
  const expiresAt = new Date(nowMs + SESSION_TTL_MS)
  await db.insert(sessions).values({
    tokenHash: hashToken(token),
    userId,
    organizationId,
    createdAt: new Date(nowMs),
    expiresAt,
  })
  // expired sessions of this user are no use to anyone
  await db.delete(sessions).where(and(eq(sessions.userId, userId), lt(sessions.expiresAt, new Date(nowMs))))
  return { token, expiresAt }
}

/** Ends the session of this token (if it is one). */
export async function deleteSession(db: Db, token: string): Promise<void> {
  if (!token.startsWith(SESSION_TOKEN_PREFIX)) return
  await db.delete(sessions).where(eq(sessions.tokenHash, hashToken(token)))
}

/** Who presents this credential; null when it is unknown, expired, or its user left the organization. */
export async function resolveCredential(db: Db, nowMs: number, token: string): Promise<AuthContext | null> {
  const now = new Date(nowMs)
  if (token.startsWith(SESSION_TOKEN_PREFIX)) {
    const [row] = await db
      .select({
        id: sessions.id,
        userId: sessions.userId,
        organizationId: sessions.organizationId,
        role: memberships.role,
      })
      .from(sessions)
      .innerJoin(
        memberships,
        and(eq(memberships.organizationId, sessions.organizationId), eq(memberships.userId, sessions.userId)),
      )
      .where(and(eq(sessions.tokenHash, hashToken(token)), gt(sessions.expiresAt, now)))
    return row === undefined ? null : { ...row, via: 'session', credentialId: row.id }
  }
  if (token.startsWith(API_KEY_PREFIX)) {
    const [row] = await db
      .select({
        id: apiKeys.id,
        userId: apiKeys.createdBy,
        organizationId: apiKeys.organizationId,
        role: memberships.role,
      })
      .from(apiKeys)
      .innerJoin(
        memberships,
        and(
          eq(memberships.organizationId, apiKeys.organizationId),
          eq(memberships.userId, apiKeys.createdBy),
        ),
      )
      .where(eq(apiKeys.keyHash, hashToken(token)))
    if (row === undefined) return null
    await db
      .update(apiKeys)
      .set({ lastUsedAt: now })
      .where(
        and(
          eq(apiKeys.id, row.id),
          or(isNull(apiKeys.lastUsedAt), lt(apiKeys.lastUsedAt, new Date(nowMs - LAST_USED_RESOLUTION_MS))),
        ),
      )
    return { ...row, via: 'api_key', credentialId: row.id }
  }
  return null
}
