/**
 * `latchkey admin create-owner`: the first owner of a server that runs without `--demo`, made on the
 * database directly (the same rules as sign-up: a new organization and its owner).
 */
import { randomBytes } from 'node:crypto'
import { LatchkeyError } from '@latchkey/core'
import { count } from 'drizzle-orm'
import type { Db } from '../store/index.ts'
import { openStore, organizations } from '../store/index.ts'
import { signup } from './signup.ts'

export interface CreateOwnerOptions {
  dataDir: string
  databaseUrl?: string | undefined
  email: string
  /** Generated (and answered) when not given. */
  password?: string | undefined
  organizationName?: string | undefined
  nowMs: number
}

export const MIN_PASSWORD_LENGTH = 8

export async function countOrganizations(db: Db): Promise<number> {
  const [row] = await db.select({ n: count() }).from(organizations)
  return row?.n ?? 0
}

export async function createOwner(
  options: CreateOwnerOptions,
): Promise<{ userId: string; organizationId: string; email: string; password: string; generated: boolean }> {
  if (!/^[^\s@]+@[^\s@]+$/.test(options.email.trim()))
    throw new LatchkeyError('validation_failed', `“${options.email}” is not an e-mail address`)
  if (options.password !== undefined && options.password.length < MIN_PASSWORD_LENGTH)
    throw new LatchkeyError('validation_failed', `a password has at least ${MIN_PASSWORD_LENGTH} characters`)
  const password = options.password ?? randomBytes(12).toString('base64url')
  const store = await openStore(
    options.databaseUrl ? { databaseUrl: options.databaseUrl } : { dataDir: options.dataDir },
  )
  try {
    const created = await signup(store.db, options.nowMs, {
      email: options.email,
      password,
      organizationName: options.organizationName ?? 'My organization',
    })
    return {
      userId: created.userId,
      organizationId: created.organizationId,
      email: options.email.trim().toLowerCase(),
      password,
      generated: options.password === undefined,
    }
  } finally {
    await store.close()
  }
}
