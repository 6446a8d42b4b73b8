/**
 * Who is asking on the app's routes (`/app/...`): a person logged in with a unique code (Code Login
 * session, token `lka_…`), or a user of the organization with their portal session or API key
 * (their own shares). A Code Login session is checked against its code at every request, so it ends
 * at once when the code expires, is deleted, or its device binding is reset.
 */
import { randomBytes } from 'node:crypto'
import { and, eq, gt, isNull, lt } from 'drizzle-orm'
import { resolveCredential } from '../accounts/index.ts'
import { hashToken } from '../credentials.ts'
import type { Db } from '../store/index.ts'
import { appSessions, uniqueCodes } from '../store/index.ts'

export const APP_SESSION_TOKEN_PREFIX = 'lka_'
/** A Code Login session lasts this long, and never past its code's expiry. */
export const APP_SESSION_TTL_MS = 30 * 24 * 3_600_000

export type AppPrincipal =
  | {
      kind: 'unique_code'
      organizationId: string
      uniqueCodeId: string
      /** Access through the code ends here at the latest. */
      codeExpiresAt: Date
      label: string
      sessionId: string
    }
  | { kind: 'user'; organizationId: string; userId: string }

export async function createAppSession(
  db: Db,
  nowMs: number,
  code: { id: string; organizationId: string; expiresAt: Date },
  deviceId: string,
): Promise<{ token: string; expiresAt: Date }> {
  const token = APP_SESSION_TOKEN_PREFIX + randomBytes(32).toString('base64url')
  const expiresAt = new Date(Math.min(code.expiresAt.getTime(), nowMs + APP_SESSION_TTL_MS))
  await db.insert(appSessions).values({
    tokenHash: hashToken(token),
    organizationId: code.organizationId,
    uniqueCodeId: code.id,
    deviceId,
    createdAt: new Date(nowMs),
    expiresAt,
  })
  // sessions of this code that have run out are no use to anyone
  await db
    .delete(appSessions)
    .where(and(eq(appSessions.uniqueCodeId, code.id), lt(appSessions.expiresAt, new Date(nowMs))))
  return { token, expiresAt }
}

/** The principal of a presented token; null when it is unknown, expired, or its code no longer gives access. */
export async function resolveAppPrincipal(
  db: Db,
  nowMs: number,
  token: string,
): Promise<AppPrincipal | null> {
  const now = new Date(nowMs)
  if (token.startsWith(APP_SESSION_TOKEN_PREFIX)) {
    const [row] = await db
      .select({
        sessionId: appSessions.id,
        organizationId: appSessions.organizationId,
        uniqueCodeId: appSessions.uniqueCodeId,
        codeExpiresAt: uniqueCodes.expiresAt,
        label: uniqueCodes.description,
      })
      .from(appSessions)
      .innerJoin(
        uniqueCodes,
        and(
          eq(uniqueCodes.id, appSessions.uniqueCodeId),
          // the binding still names this session's device (a reset ends the session)
          eq(uniqueCodes.boundDeviceId, appSessions.deviceId),
        ),
      )
      .where(
        and(
          eq(appSessions.tokenHash, hashToken(token)),
          gt(appSessions.expiresAt, now),
          gt(uniqueCodes.expiresAt, now),
          isNull(uniqueCodes.deletedAt),
        ),
      )
    return row === undefined ? null : { kind: 'unique_code', ...row }
  }
  const auth = await resolveCredential(db, nowMs, token)
  return auth === null ? null : { kind: 'user', organizationId: auth.organizationId, userId: auth.userId }
}

/** Ends a Code Login session (logout); other tokens are left alone. */
export async function deleteAppSession(db: Db, token: string): Promise<void> {
  if (!token.startsWith(APP_SESSION_TOKEN_PREFIX)) return
  await db.delete(appSessions).where(eq(appSessions.tokenHash, hashToken(token)))
}
