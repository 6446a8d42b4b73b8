/**
 * The Matter driver's round trips over loopback (UDP), in one process: the server's controller
 * (`MatterController`) against the virtual Matter lock. Commissioning once (PASE, certificates,
 * the operational CASE session at the given address, CommissioningComplete), then ≥ 200 each of
 * putting a code on the lock (ClearUser + SetUser + SetCredential, what `set_code` does) and taking
 * it off (ClearUser, what `remove_code` does), beside matter.js's own floor: one attribute read
 * from the lock (`lockState`, not from the cache).
 */
import { mkdtempSync, rmSync } from 'node:fs'
import { tmpdir } from 'node:os'
import { join } from 'node:path'
import { DoorLock, MatterController, startVirtualLock } from '@latchkey/matter'
import { type BenchRow, defineSuite, formatNumber } from './lib.ts'

const ROUNDS = 200
const PORT = 18690

function percentile(sorted: readonly number[], p: number): number {
  return sorted[Math.min(sorted.length - 1, Math.ceil((p / 100) * sorted.length) - 1)]!
}

async function timed(rounds: number, op: (i: number) => Promise<unknown>): Promise<number[]> {
  const ms: number[] = []
  for (let i = 0; i < rounds; i++) {
    const start = performance.now()
    await op(i)
    ms.push(performance.now() - start)
  }
  return ms.sort((a, b) => a - b)
}

function row(name: string, ms: readonly number[], note: string): BenchRow {
  return {
    name,
    value: `${formatNumber(percentile(ms, 50))} / ${formatNumber(percentile(ms, 99))}`,
    unit: 'ms p50 / p99',
    note: `${note}; ${ms.length} round trips, max ${formatNumber(ms[ms.length - 1]!)} ms`,
  }
}

export default defineSuite({
  name: 'matter',
  async run() {
    const dir = mkdtempSync(join(tmpdir(), 'latchkey-bench-matter-'))
    const lock = await startVirtualLock({
      port: PORT,
      passcode: 20202021,
      discriminator: 3860,
      storagePath: dir,
    })
    const controller = await MatterController.start({ storagePath: dir })
    try {
      const started = performance.now()
      const { nodeId } = await controller.commission({
        passcode: 20202021,
        discriminator: 3860,
        address: `127.0.0.1:${PORT}`,
      })
      const commissioning = performance.now() - started
      const read = await timed(ROUNDS, () => controller.readLockState(nodeId))
      const put = await timed(ROUNDS, (i) =>
        controller.putUser(nodeId, {
          userIndex: (i % 10) + 1,
          userName: `bench${i % 10}`,
          userUniqueId: i,
          userType: DoorLock.UserType.UnrestrictedUser,
          pin: String(400_000 + i),
        }),
      )
      const remove = await timed(ROUNDS, async (i) => {
        await controller.clearUser(nodeId, (i % 10) + 1)
      })
      return [
        {
          name: 'commissioning over loopback at a given address',
          value: formatNumber(commissioning),
          unit: 'ms',
          note: 'one run: PASE, attestation, certificates, CASE at the address, CommissioningComplete, first read',
        },
        row('floor: one attribute read from the lock (lockState)', read, 'matter.js round trip, no cache'),
        row('set a code: ClearUser + SetUser + SetCredential', put, 'what set_code does; 3 invokes'),
        row('revoke a code: ClearUser', remove, 'what remove_code does; 1 invoke'),
      ]
    } finally {
      await controller.close()
      await lock.close()
      rmSync(dir, { recursive: true, force: true })
    }
  },
})
