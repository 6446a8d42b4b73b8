/**
 * The server's suites run the reconciler against TableLockChannel (packages/server/src/reconciler/
 * testing.ts), a double that keeps a code table by the lock's rules, since the server may not import
 * the firmware. This checks the double against the real lock: the same random command sequences go to
 * both — to the lock as sealed frames — and every reply and the table each ends with must be the same.
 */
import { SimulatedClock } from '@latchkey/core'
import { Lock } from '@latchkey/lock'
import { ServerDouble } from '@latchkey/lock/testing'
import type { Command, Reply } from '@latchkey/protocol'
import fc from 'fast-check'
import { describe, expect, it } from 'vitest'
import type { LockReply } from '../packages/server/src/devices/lock-channel.ts'
import { TableLockChannel } from '../packages/server/src/reconciler/testing.ts'

const T0 = Date.UTC(2026, 5, 1, 9, 0, 0)
const HOUR = 3_600_000
const CAPACITY = 3
const CODE_IDS = [
  '0b8a2f8e-4a43-4c1a-9d2b-3f6a1e5c7d01',
  '0b8a2f8e-4a43-4c1a-9d2b-3f6a1e5c7d02',
  '0b8a2f8e-4a43-4c1a-9d2b-3f6a1e5c7d03',
  '0b8a2f8e-4a43-4c1a-9d2b-3f6a1e5c7d04',
  '0b8a2f8e-4a43-4c1a-9d2b-3f6a1e5c7d05',
]
const PINS = ['4829', '730516', '5610938', '4182730']

const arbRule = fc.oneof(
  fc.constant({ kind: 'permanent' as const }),
  fc
    .record({ start: fc.integer({ min: -48, max: 48 }), hours: fc.integer({ min: 1, max: 72 }) })
    .map(({ start, hours }) => ({
      kind: 'timed' as const,
      startsAt: T0 + start * HOUR,
      endsAt: T0 + (start + hours) * HOUR,
    })),
  fc.integer({ min: 1, max: 5 }).map((maxUses) => ({ kind: 'permanent' as const, maxUses })),
)

const arbCommand: fc.Arbitrary<Command> = fc.oneof(
  {
    weight: 5,
    arbitrary: fc.record({
      type: fc.constant('set_code' as const),
      codeId: fc.constantFrom(...CODE_IDS),
      pin: fc.constantFrom(...PINS),
      rule: arbRule,
    }),
  },
  {
    weight: 2,
    arbitrary: fc.record({ type: fc.constant('remove_code' as const), codeId: fc.constantFrom(...CODE_IDS) }),
  },
  {
    weight: 1,
    arbitrary: fc.record({
      type: fc.constant('set_revocations' as const),
      keyIds: fc.uniqueArray(fc.constantFrom('share:a', 'share:b', 'offline:3:0'), { maxLength: 3 }),
    }),
  },
  { weight: 1, arbitrary: fc.constant({ type: 'read_table' as const }) },
)

/** What both must agree on: outcome, error code, and the data of a reply (a table without clock or ledger). */
function essence(reply: Reply): unknown {
  if (reply.status === 'error') return { status: 'error', code: reply.error.code }
  const data = reply.data as Record<string, unknown> | undefined
  if (data !== undefined && 'codes' in data) {
    return { status: 'ok', capacity: data.capacity, codes: data.codes, revocations: data.revocations }
  }
  return { status: 'ok', data }
}

describe('TableLockChannel against the lock firmware', () => {
  it('answers every command sequence as the real lock does, and ends with the same table', async () => {
    await fc.assert(
      fc.asyncProperty(fc.array(arbCommand, { minLength: 1, maxLength: 30 }), async (commands) => {
        const server = new ServerDouble({ capacity: CAPACITY })
        const lock = Lock.open(server.bundle, { world: new SimulatedClock({ frozenAt: T0 }) })
        server.setTime(lock, T0)
        const double = new TableLockChannel()
        double.addLock(server.lockId, 'org', CAPACITY)
        const replies: LockReply[] = []
        double.onReply(async (reply) => {
          replies.push(reply)
        })
        for (const command of [...commands, { type: 'read_table' as const }]) {
          const real = server.send(lock, command)
          await double.send(server.lockId, command)
          await double.deliver()
          const fake = replies.at(-1)!.reply
          expect(essence(fake), JSON.stringify(command)).toEqual(essence(real))
        }
      }),
      { numRuns: 200 },
    )
  })
})
