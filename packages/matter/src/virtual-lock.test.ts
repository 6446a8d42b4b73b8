import { mkdtempSync, rmSync } from 'node:fs'
import { tmpdir } from 'node:os'
import { join } from 'node:path'
import { DoorLock } from '@matter/main/clusters/door-lock'
import { afterAll, beforeAll, describe, expect, it } from 'vitest'
import { startVirtualLock, type VirtualLock } from './virtual-lock.ts'

// One lock for the file (a Matter node's shutdown is slow); a port of its own, on loopback.
describe('virtual Matter lock keypad', () => {
  let lock: VirtualLock
  let dir: string
  let nowMs = Date.parse('2026-12-03T10:00:00Z')
  beforeAll(async () => {
    dir = mkdtempSync(join(tmpdir(), 'latchkey-vlock-'))
    lock = await startVirtualLock({
      port: 18610,
      passcode: 20202021,
      discriminator: 3850,
      storagePath: dir,
      clock: () => nowMs,
    })
  })
  afterAll(async () => {
    await lock?.close()
    rmSync(dir, { recursive: true, force: true })
  })

  it('refuses a PIN it does not hold', async () => {
    expect(await lock.enterPin('000000')).toEqual({
      result: 'denied',
      reason: 'unknown_code',
      userIndex: null,
    })
  })

  it('opens once for a DisposableUser, then refuses it', async () => {
    await lock.addUserLocally({ userIndex: 1, pin: '482913', userType: DoorLock.UserType.DisposableUser })
    expect(await lock.enterPin('482913')).toEqual({ result: 'unlocked', userIndex: 1 })
    expect(await lock.enterPin('482913')).toEqual({ result: 'denied', reason: 'disabled', userIndex: 1 })
  })

  it('opens a Year Day user only inside its window', async () => {
    const start = Math.floor(Date.parse('2026-12-03T12:00:00Z') / 1000)
    await lock.addUserLocally({
      userIndex: 2,
      pin: '715204',
      userType: DoorLock.UserType.YearDayScheduleUser,
      yearDay: { start, end: start + 3600 },
    })
    expect(await lock.enterPin('715204')).toEqual({
      result: 'denied',
      reason: 'outside_schedule',
      userIndex: 2,
    })
    nowMs = Date.parse('2026-12-03T12:30:00Z')
    expect(await lock.enterPin('715204')).toEqual({ result: 'unlocked', userIndex: 2 })
    nowMs = Date.parse('2026-12-03T13:00:00Z')
    expect(await lock.enterPin('715204')).toEqual({
      result: 'denied',
      reason: 'outside_schedule',
      userIndex: 2,
    })
  })
  it('judges a PIN typed while its users are being written, after the write', async () => {
    // A keypad press and a change to the lock's users at the same moment: the press waits for the
    // write instead of failing, every time.
    nowMs = Date.parse('2026-12-03T10:00:00Z')
    const results = await Promise.all(
      Array.from({ length: 5 }, async (_, i) => {
        const typed = lock.enterPin('000000')
        await lock.addUserLocally({
          userIndex: 10 + i,
          pin: `90871${i}`,
          userType: DoorLock.UserType.UnrestrictedUser,
        })
        return [await typed, await lock.enterPin(`90871${i}`)]
      }),
    )
    for (const [i, [wrong, right]] of results.entries()) {
      expect(wrong).toEqual({ result: 'denied', reason: 'unknown_code', userIndex: null })
      expect(right).toEqual({ result: 'unlocked', userIndex: 10 + i })
    }
  })
})
