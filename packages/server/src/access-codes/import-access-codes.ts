/**
 * Many codes on one lock at once (SPEC §8 `POST /locks/{lockId}/access-codes/import`): each row goes
 * through the one create operation on its own, so a refused row never stops the others, and each row
 * gets its answer (the code made, or the error that refused it). A dry run makes each row in a
 * transaction that is rolled back: every check runs, nothing is kept.
 */
import { LatchkeyError } from '@latchkey/core'
import type { AuthContext } from '../accounts/index.ts'
import type { AccessCode } from '../store/index.ts'
import { type CreateAccessCodeInput, createAccessCode, type Deps } from './create-access-code.ts'
import { findLock } from './lookup.ts'

export type ImportRow = { ok: true; input: CreateAccessCodeInput } | { ok: false; error: LatchkeyError }

export type ImportResult =
  | { row: number; status: 'created'; code: AccessCode }
  | { row: number; status: 'refused'; error: LatchkeyError }

class RollBack extends Error {
  readonly code: AccessCode
  constructor(code: AccessCode) {
    super('dry run')
    this.code = code
  }
}

export async function importAccessCodes(
  deps: Deps,
  auth: AuthContext,
  lockId: string,
  rows: ImportRow[],
  dryRun: boolean,
): Promise<ImportResult[]> {
  const lock = await findLock(deps.db, auth.organizationId, lockId)
  const results: ImportResult[] = []
  for (const [row, entry] of rows.entries()) {
    if (!entry.ok) {
      results.push({ row, status: 'refused', error: entry.error })
      continue
    }
    try {
      const code = dryRun
        ? await dryCreate(deps, auth, lock.id, entry.input)
        : await createAccessCode(deps, auth, lock.id, entry.input)
      results.push({ row, status: 'created', code })
    } catch (error) {
      if (!(error instanceof LatchkeyError)) throw error
      results.push({ row, status: 'refused', error })
    }
  }
  return results
}

async function dryCreate(
  deps: Deps,
  auth: AuthContext,
  lockId: string,
  input: CreateAccessCodeInput,
): Promise<AccessCode> {
  try {
    await deps.db.transaction(async (tx) => {
      throw new RollBack(await createAccessCode({ ...deps, db: tx }, auth, lockId, input))
    })
  } catch (error) {
    if (error instanceof RollBack) return error.code
    throw error
  }
  throw new Error('unreachable: a dry run always rolls back')
}
