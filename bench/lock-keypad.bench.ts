/**
 * What one keypad entry costs the lock with a full code table (250 synced codes), through the lock's
 * own API (`Lock.keypad`), against one HMAC-SHA256 measured in the same run. Locks here live in
 * memory (no flash write) except in the last row.
 *
 * Every entry compares the digits with all 250 PINs (constant time). A 10-digit entry that matches
 * no synced code then costs one keyed hash (the recorded offline codes) and, if it is not recorded,
 * the offline verifier (up to 27 HMACs when the lock's clock is on the hour).
 */
import { mkdtempSync, rmSync } from 'node:fs'
import { tmpdir } from 'node:os'
import { join } from 'node:path'
import { HOUR_MS, SimulatedClock } from '@latchkey/core'
import { Lock } from '@latchkey/lock'
import { ServerDouble } from '@latchkey/lock/testing'
import { hmacSha256 } from '@latchkey/protocol'
import { defineSuite, formatNumber, type Measurement, measure, measureTogether, timeRow } from './lib.ts'

const CAPACITY = 250
const T0 = Date.UTC(2026, 2, 10, 9, 0, 0) // Tuesday 10:00 in Berlin, on the hour

/** A lock whose table is full: 249 permanent codes, then `last` as the 250th. */
function fullLock(
  last: Parameters<ServerDouble['setCode']>[3],
  options: { stateDir?: string; events?: number } = {},
) {
  // A big event ring, so that the in-memory runs keep appending events rather than counting them lost.
  const server = new ServerDouble({ capacity: CAPACITY, eventCapacity: options.events ?? 100_000 })
  const world = new SimulatedClock({ frozenAt: T0 })
  const lock = Lock.open(server.bundle, {
    world,
    ...(options.stateDir ? { stateDir: options.stateDir } : {}),
  })
  server.setTime(lock, T0)
  for (let i = 0; i < CAPACITY - 1; i++)
    server.setCode(lock, `c${i}`, String(100_000 + i * 7), { kind: 'permanent' })
  const reply = server.setCode(lock, 'last', '987654', last)
  if (reply.status !== 'ok') throw new Error(`could not fill the table: ${JSON.stringify(reply)}`)
  return { server, world, lock }
}

function expectResult(actual: unknown, expected: unknown, what: string): void {
  if (JSON.stringify(actual) !== JSON.stringify(expected)) {
    throw new Error(`${what}: expected ${JSON.stringify(expected)}, got ${JSON.stringify(actual)}`)
  }
}

export default defineSuite({
  name: 'lock-keypad',
  run() {
    const permanent = fullLock({ kind: 'permanent' })
    const recurring = fullLock({
      kind: 'recurring',
      schedule: { slots: [{ days: [1, 2, 3, 4, 5], start: '08:00', end: '18:00' }] },
    })
    // Wrong 10-digit entries: the world moves 2 h after each one, so a lockout (at most 1 h) never
    // cuts the check short and the lock's clock stays on the hour (the most start hours to try).
    const wrong = fullLock({ kind: 'permanent' })
    // A recorded offline code, with the activated table full (64 entries to compare).
    const recorded = fullLock({ kind: 'permanent' })
    const offlinePins: string[] = []
    for (let i = 0; i < 64; i++) {
      const startsAt = T0 - (i % 21) * HOUR_MS
      const days = [30, 60, 90, 180][Math.floor(i / 21)]!
      const code = recorded.server.issueOffline('timed', startsAt, startsAt + days * 24 * HOUR_MS)
      offlinePins.push(code.pin)
      expectResult(recorded.lock.keypad(code.pin), { result: 'unlocked' }, 'first use of an offline code')
    }
    expectResult(recorded.lock.view().capacity.activatedOffline.used, 64, 'recorded offline codes')
    const offlinePin = offlinePins.at(-1)!
    expectResult(permanent.lock.keypad('987654'), { result: 'unlocked' }, 'synced permanent code')
    expectResult(recurring.lock.keypad('987654'), { result: 'unlocked' }, 'synced recurring code')
    expectResult(wrong.lock.keypad('2099999999'), { result: 'denied', reason: 'unknown_code' }, 'wrong code')
    wrong.world.advance(2 * HOUR_MS)

    const message = new Uint8Array(new TextEncoder().encode(permanent.server.lockId).length + 5)
    const key = permanent.server.keys.pin
    const wrongDigits = Array.from(
      { length: 1024 },
      (_, i) =>
        `2${(i * 7919) % 10}${String(i * 104_729)
          .padStart(8, '0')
          .slice(-8)}`,
    )
    const [hmac, synced, syncedRecurring, offlineWrong, offlineRecorded] = measureTogether(
      [
        {
          name: 'HMAC-SHA256, one call (node:crypto)',
          fn: (i) => {
            message[message.length - 1] = i
            return hmacSha256(key, message)
          },
        },
        {
          name: 'keypad: synced permanent code, full table (250)',
          fn: () => permanent.lock.keypad('987654'),
        },
        {
          name: 'keypad: synced recurring code, full table (250)',
          fn: () => recurring.lock.keypad('987654'),
        },
        {
          name: 'keypad: wrong 10-digit code, full table, offline verifier on the hour (worst case)',
          fn: (i) => {
            const result = wrong.lock.keypad(wrongDigits[i % wrongDigits.length]!)
            wrong.world.advance(2 * HOUR_MS)
            return result
          },
        },
        {
          name: 'keypad: offline code already recorded, full table, 64 recorded',
          fn: () => recorded.lock.keypad(offlinePin),
        },
      ],
      { maxTimeMs: 1500 },
    ) as [Measurement, Measurement, Measurement, Measurement, Measurement]

    const ratio = (m: Measurement, note: string) => ({
      name: '… as a ratio to one HMAC',
      value: formatNumber(m.medianNs / hmac.medianNs),
      unit: '× HMAC (medians)',
      note,
    })

    // The same permanent-code entry with the lock's flash: an atomic write (temp file, fsync, rename,
    // fsync of the directory) of the whole state after the entry.
    const dir = mkdtempSync(join(tmpdir(), 'latchkey-bench-'))
    let flashed: Measurement
    try {
      // The model's ring of 500, filled first: the largest state file a full lock writes.
      const onFlash = fullLock({ kind: 'permanent' }, { stateDir: dir, events: 500 })
      for (let i = 0; i < 500; i++) onFlash.lock.keypad('987654')
      flashed = measure(
        'keypad: synced permanent code, full table, with the flash write',
        () => onFlash.lock.keypad('987654'),
        { warmupMs: 100, maxTimeMs: 1000, maxSamples: 20 },
      )
    } finally {
      rmSync(dir, { recursive: true, force: true })
    }

    return [
      timeRow(hmac),
      timeRow(synced, '250 constant-time PIN comparisons, decide(), event logged'),
      ratio(synced, 'no HMAC on this path'),
      timeRow(syncedRecurring, 'as above, decide() with a weekly schedule in Europe/Berlin'),
      ratio(syncedRecurring, 'no HMAC on this path'),
      timeRow(offlineWrong, '250 PIN comparisons, 1 keyed hash, verifier of 27 HMACs'),
      ratio(offlineWrong, 'pure HMAC cost would be 28'),
      timeRow(offlineRecorded, '250 PIN comparisons, 1 keyed hash, 64 recorded-hash comparisons'),
      ratio(offlineRecorded, 'pure HMAC cost would be 1'),
      timeRow(flashed, `the state file holds 250 codes and 500 events; disk: ${tmpdir()}`),
      ratio(flashed, 'dominated by fsync'),
    ]
  },
})
