/**
 * The lock's revocation list never stops a pass. It names revoked shares, not keys, so a person who
 * asked for a thousand eKeys before their share was revoked costs the lock one entry; and a list
 * longer than the lock takes is cut, said on the lock and counted, while codes still reach the lock.
 */
import { randomUUID } from 'node:crypto'
import { afterAll, beforeAll, describe, expect, it } from 'vitest'
import { revokedShares } from '../app-users/revocations.ts'
import { ekeys, permissions } from '../store/schema.ts'
import { TEST_EPOCH } from '../testing.ts'
import { addLock, createCode, type Fixture, getCode, settle, setup } from './test-setup.ts'

const HOUR = 3_600_000

let f: Fixture
beforeAll(async () => {
  f = await setup({ revocations: (db, lockId, nowMs) => revokedShares(db, lockId, nowMs) })
})
afterAll(() => f.close())

/** `shares` revoked shares of the owner on the lock, with `keysEach` unexpired eKeys each (as issued). */
async function revokedSharesWithKeys(lockId: string, shares: number, keysEach: number): Promise<string[]> {
  const now = new Date(TEST_EPOCH)
  const ids = Array.from({ length: shares }, () => randomUUID())
  await f.t.store.db.insert(permissions).values(
    ids.map((id) => ({
      id,
      organizationId: f.owner.organizationId,
      lockId,
      granteeType: 'user' as const,
      userId: f.owner.userId,
      level: 'admin' as const,
      createdAt: now,
      revokedAt: now,
    })),
  )
  const keys = ids.flatMap((permissionId) =>
    Array.from({ length: keysEach }, () => ({
      keyId: randomUUID(),
      organizationId: f.owner.organizationId,
      lockId,
      permissionId,
      userId: f.owner.userId,
      level: 'admin' as const,
      notBefore: now,
      notAfter: new Date(TEST_EPOCH + 24 * HOUR),
      issuedAt: now,
      revokedAt: now,
    })),
  )
  for (let i = 0; i < keys.length; i += 500) await f.t.store.db.insert(ekeys).values(keys.slice(i, i + 500))
  return ids
}

const lockView = async (lockId: string) =>
  (await f.app.inject({ method: 'GET', url: `/api/v1/locks/${lockId}`, headers: f.owner.headers })).json()

describe('the revocation list', () => {
  it('holds one entry for a revoked share however many eKeys it had, and codes still reach the lock', async () => {
    const lock = await addLock(f, { name: 'Gate' })
    await settle(f)
    const [share] = await revokedSharesWithKeys(lock.id, 1, 1001)
    await f.reconciler.requestReconcile(lock.id)
    const code = (await createCode(f, lock.id, { name: 'Cleaner', kind: 'permanent' })).json()
    await settle(f)
    expect(f.errors).toEqual([])
    expect((await getCode(f, code.id)).status).toBe('set')
    expect(f.channel.lock(lock.id).revocations).toEqual([`share:${share}`])
    expect((await lockView(lock.id)).warnings).toEqual([])
  })

  it('is cut to what the lock takes, says so on the lock and counts it, and the pass goes on', async () => {
    const lock = await addLock(f, { name: 'Yard' })
    await settle(f)
    await revokedSharesWithKeys(lock.id, 1003, 1)
    await f.reconciler.requestReconcile(lock.id)
    const code = (await createCode(f, lock.id, { name: 'Gardener', kind: 'permanent' })).json()
    await settle(f)
    expect(f.errors).toEqual([])
    expect((await getCode(f, code.id)).status).toBe('set')
    expect(f.channel.lock(lock.id).revocations).toHaveLength(1000)
    expect((await lockView(lock.id)).warnings).toEqual([
      {
        code: 'revocation_list_full',
        message:
          "the lock's revocation list is full: 3 revoked shares or codes do not fit on it, and can still open the lock until they expire (eKeys within 24 hours)",
      },
    ])
    expect(f.app.deps.metrics.render()).toMatch(/^latchkey_revocations_left_out_total [1-9]\d*$/m)
  })
})
