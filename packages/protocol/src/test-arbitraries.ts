/** fast-check generators of valid protocol messages, shared by the codec tests (not part of the package API). */

import { DENY_REASONS } from '@latchkey/core'
import fc from 'fast-check'
import type { CommandEnvelope, LockMessage } from './messages.ts'
import { LOCK_REPLY_ERRORS } from './messages.ts'

type Weekday = 1 | 2 | 3 | 4 | 5 | 6 | 7

export const arbId = fc.stringMatching(/^[A-Za-z0-9_-]{1,64}$/)
/** Any string, lone surrogates included: JSON escapes them, so they must survive the frame. */
export const arbText = fc.string({ unit: 'binary', maxLength: 40 })
export const arbInstant = fc.integer({ min: 0, max: 8_640_000_000_000 })
const arbNullableInstant = fc.option(arbInstant, { nil: null })

const pad = (n: number) => String(n).padStart(2, '0')
export const arbHhmm = fc.oneof(
  fc
    .tuple(fc.integer({ min: 0, max: 23 }), fc.integer({ min: 0, max: 59 }))
    .map(([h, m]) => `${pad(h)}:${pad(m)}`),
  fc.constant('24:00'),
)
export const arbDate = fc
  .tuple(
    fc.integer({ min: 1970, max: 2100 }),
    fc.integer({ min: 1, max: 12 }),
    fc.integer({ min: 1, max: 28 }),
  )
  .map(([y, m, d]) => `${y}-${pad(m)}-${pad(d)}`)

export const arbSchedule = fc.record(
  {
    slots: fc.array(
      fc.record({
        days: fc
          .uniqueArray(fc.integer({ min: 1, max: 7 }), { minLength: 1, maxLength: 7 })
          .map((d) => d as Weekday[]),
        start: arbHhmm,
        end: arbHhmm,
      }),
      { minLength: 1, maxLength: 14 },
    ),
    startsOn: arbDate,
    endsOn: arbDate,
  },
  { requiredKeys: ['slots'] },
)

export const arbRule = fc.record(
  {
    kind: fc.constantFrom('permanent', 'timed', 'one_time', 'recurring'),
    startsAt: arbInstant,
    endsAt: arbInstant,
    schedule: arbSchedule,
    maxUses: fc.integer({ min: 1, max: 1_000_000 }),
  },
  { requiredKeys: ['kind'] },
)

export const arbCommandEnvelope: fc.Arbitrary<CommandEnvelope> = fc.record({
  kind: fc.constant('command' as const),
  id: fc.string({ minLength: 1, maxLength: 36 }),
  command: fc.oneof(
    fc.record({
      type: fc.constant('set_code' as const),
      codeId: arbId,
      pin: fc.stringMatching(/^\d{4,10}$/),
      rule: arbRule,
    }),
    fc.record({ type: fc.constant('remove_code' as const), codeId: arbId }),
    fc.constant({ type: 'read_table' as const }),
    fc.record({ type: fc.constant('unlock' as const), notAfter: arbInstant }),
    fc.record({ type: fc.constant('set_time' as const), nowMs: arbInstant }),
    fc.record({ type: fc.constant('ack_events' as const), upToSeq: fc.nat() }),
    fc.record({ type: fc.constant('set_revocations' as const), keyIds: fc.array(arbId, { maxLength: 20 }) }),
    fc.record(
      {
        type: fc.constant('configure' as const),
        timezone: fc.constantFrom('UTC', 'Australia/Sydney', 'Europe/Berlin'),
        graceMs: fc.nat(),
      },
      { requiredKeys: ['type'] },
    ),
  ),
})

const arbMethod = fc.constantFrom('keypad', 'app', 'remote')
const arbOffline = fc.record({ h: fc.integer({ min: 0, max: 99 }), startsAt: arbInstant })
const eventBase = { seq: fc.integer({ min: 1, max: Number.MAX_SAFE_INTEGER }), at: arbNullableInstant }

export const arbLockEvent = fc.oneof(
  fc.record(
    {
      ...eventBase,
      type: fc.constant('unlocked' as const),
      method: arbMethod,
      codeId: arbId,
      offline: arbOffline,
      keyId: arbId,
    },
    { requiredKeys: ['seq', 'at', 'type', 'method'] },
  ),
  fc.record(
    {
      ...eventBase,
      type: fc.constant('access_denied' as const),
      method: arbMethod,
      reason: fc.constantFrom(...DENY_REASONS),
      codeId: arbId,
      offline: arbOffline,
      keyId: arbId,
    },
    { requiredKeys: ['seq', 'at', 'type', 'method', 'reason'] },
  ),
  fc.record({
    ...eventBase,
    type: fc.constant('locked_out' as const),
    untilMs: arbInstant,
    wrongAttempts: fc.nat(1000),
  }),
  fc.record({
    ...eventBase,
    type: fc.constant('clock_set' as const),
    offsetMs: fc.option(fc.integer(), { nil: null }),
  }),
  fc.record({ ...eventBase, type: fc.constant('code_set' as const), codeId: arbId }),
  fc.record({ ...eventBase, type: fc.constant('code_removed' as const), codeId: arbId }),
  fc.record({
    ...eventBase,
    type: fc.constant('frame_rejected' as const),
    reason: fc.constantFrom('frame_truncated', 'frame_unsupported', 'frame_forged', 'frame_replayed'),
  }),
  fc.record({
    ...eventBase,
    type: fc.constant('events_lost' as const),
    count: fc.integer({ min: 1, max: 100_000 }),
  }),
  fc.record({ ...eventBase, type: fc.constant('power_restored' as const) }),
)

export const arbLockMessage: fc.Arbitrary<LockMessage> = fc.oneof(
  fc.record(
    {
      kind: fc.constant('reply' as const),
      id: arbText,
      status: fc.constant('ok' as const),
      // JSON has no -0: normalise the generated value as the wire would.
      data: fc.jsonValue({ maxDepth: 3 }).map((v) => JSON.parse(JSON.stringify(v)) as unknown),
    },
    { requiredKeys: ['kind', 'id', 'status'] },
  ),
  fc.record({
    kind: fc.constant('reply' as const),
    id: arbText,
    status: fc.constant('error' as const),
    error: fc.record({ code: fc.constantFrom(...LOCK_REPLY_ERRORS), message: arbText }),
  }),
  fc.record({ kind: fc.constant('events' as const), events: fc.array(arbLockEvent, { maxLength: 10 }) }),
)
