/**
 * A lock's event batch as the server takes it (handleLockUp): authenticated once (the receive counter
 * and the events commit together), stored once per (lock, seq), with what each event owes the
 * webhooks; the one-statement way of the usual frame agrees with the receive window's rule. The
 * lock's answer to the acknowledgement of a batch is taken once, in or out of order.
 */
import { randomUUID } from 'node:crypto'
import { type LockEvent, sealLockMessage } from '@latchkey/protocol'
import { and, eq, inArray, isNotNull } from 'drizzle-orm'
import fc from 'fast-check'
import { describe, expect, it, vi } from 'vitest'
import { events, lockCommands, locks, webhookDeliveries } from '../store/schema.ts'
import { acceptCounter, RECEIVE_WINDOW } from './channel-context.ts'
import { channelContext, lockOnGateway, useGatewaySetup } from './gateway-test-setup.ts'
import { GATEWAY_SEEN_EVERY_MS, handleLockUp, pendingCommandRow, takeCounterAhead } from './lock-up.ts'

const setup = useGatewaySetup()

const acks: { lockId: string; upToSeq: number }[] = []
const ctx = () =>
  channelContext(setup.app, async (lockId, command) => {
    if (command.type === 'ack_events') acks.push({ lockId, upToSeq: command.upToSeq ?? -1 })
    return { commandId: randomUUID() }
  })

async function newLock() {
  const { lock, key } = await lockOnGateway(setup)
  const id: string = lock.id
  /** The events sealed by the lock under frame counter `counter`. */
  const send = (counter: number, batch: LockEvent[]) =>
    handleLockUp(
      ctx(),
      setup.gatewayId,
      id,
      sealLockMessage(key, id, counter, { kind: 'events', events: batch }),
    )
  const stored = async () =>
    (
      await setup.t.store.db
        .select({ seq: events.lockSeq })
        .from(events)
        .where(and(eq(events.lockId, id), isNotNull(events.lockSeq)))
    )
      .map((r) => r.seq)
      .sort((a, b) => a! - b!)
  return { id, key, send, stored }
}

const denied = (seq: number): LockEvent => ({
  type: 'access_denied',
  seq,
  at: setup.t.clock.now(),
  method: 'keypad',
  reason: 'unknown_code',
  pinHash: Buffer.alloc(32, seq).toString('base64url'),
})
const seqs = (from: number, to: number) => Array.from({ length: to - from + 1 }, (_, i) => from + i)

describe('an event batch from a lock', () => {
  it('owes each event stored its webhook deliveries, in the same statement', async () => {
    // nothing listens on port 9: the deliveries stay owed
    vi.stubEnv('LATCHKEY_WEBHOOK_ALLOW_PRIVATE', '1')
    const hook = await setup.app.inject({
      method: 'POST',
      url: '/api/v1/webhooks',
      headers: setup.owner.headers,
      payload: { url: 'http://127.0.0.1:9/hooks', eventTypes: ['lock.*'] },
    })
    expect(hook.statusCode, hook.body).toBe(201)
    const lock = await newLock()
    expect(await lock.send(1, seqs(1, 3).map(denied))).toBe('accepted')
    const stored = await setup.t.store.db
      .select({ id: events.id })
      .from(events)
      .where(and(eq(events.lockId, lock.id), isNotNull(events.lockSeq)))
    expect(stored).toHaveLength(3)
    const owed = await setup.t.store.db
      .select({ eventId: webhookDeliveries.eventId, type: webhookDeliveries.eventType })
      .from(webhookDeliveries)
      .where(
        inArray(
          webhookDeliveries.eventId,
          stored.map((s) => s.id),
        ),
      )
    expect(owed.map((o) => o.type)).toEqual([
      'lock.access_denied',
      'lock.access_denied',
      'lock.access_denied',
    ])
    await setup.app.inject({
      method: 'DELETE',
      url: `/api/v1/webhooks/${hook.json().id}`,
      headers: setup.owner.headers,
    })
    vi.unstubAllEnvs()
  })

  it('is stored once: sent again under a new counter it is acknowledged and adds nothing; replayed it is refused', async () => {
    const lock = await newLock()
    const batch = seqs(1, 5).map(denied)
    expect(await lock.send(1, batch)).toBe('accepted')
    expect(await lock.send(2, batch)).toBe('accepted')
    expect(await lock.send(2, batch)).toBe('replayed')
    expect(await lock.send(1, [...batch, denied(6)])).toBe('replayed')
    expect(await lock.stored()).toEqual(seqs(1, 5))
    expect(acks.filter((a) => a.lockId === lock.id).map((a) => a.upToSeq)).toEqual([5, 5])
  })

  it('handled out of order (two server processes), each frame is taken once and every event stored once', async () => {
    const lock = await newLock()
    expect(await lock.send(3, seqs(5, 8).map(denied))).toBe('accepted')
    expect(await lock.send(1, seqs(1, 4).map(denied))).toBe('accepted')
    expect(await lock.send(1, seqs(1, 4).map(denied))).toBe('replayed')
    expect(await lock.send(2, seqs(1, 8).map(denied))).toBe('accepted')
    expect(await lock.send(3, seqs(9, 9).map(denied))).toBe('replayed')
    expect(await lock.stored()).toEqual(seqs(1, 8))
  })

  it('a frame far beyond the window is taken, and one older than the window is refused', async () => {
    const lock = await newLock()
    expect(await lock.send(5, [denied(1)])).toBe('accepted')
    expect(await lock.send(5 + RECEIVE_WINDOW + 10, [denied(2)])).toBe('accepted')
    expect(await lock.send(6, [denied(3)])).toBe('replayed')
    expect(await lock.stored()).toEqual([1, 2])
  })
})

describe('what a batch leaves behind', () => {
  it('is acknowledged once stored, and the next message does not wait for the acknowledgement to leave', async () => {
    const lock = await newLock()
    const { key } = lock
    let storedWhenAcked: (number | null)[] | null = null
    let release = () => {}
    const held = new Promise<void>((r) => {
      release = r
    })
    const slow = {
      ...ctx(),
      send: async () => {
        storedWhenAcked = await lock.stored()
        await held
        return { commandId: randomUUID() }
      },
    }
    const frame = sealLockMessage(key, lock.id, 1, { kind: 'events', events: seqs(1, 4).map(denied) })
    expect(await handleLockUp(slow, setup.gatewayId, lock.id, frame)).toBe('accepted')
    await expect.poll(() => storedWhenAcked).toEqual(seqs(1, 4))
    release()
  })

  it('says when the gateway spoke, written at most once a second', async () => {
    const lock = await newLock()
    const seenAt = async () =>
      (
        await setup.app.inject({
          method: 'GET',
          url: `/api/v1/gateways/${setup.gatewayId}`,
          headers: setup.owner.headers,
        })
      ).json().lastSeenAt
    setup.t.clock.advance(5_000)
    const first = new Date(setup.t.clock.now()).toISOString()
    expect(await lock.send(1, [denied(1)])).toBe('accepted')
    expect(await seenAt()).toBe(first)
    setup.t.clock.advance(GATEWAY_SEEN_EVERY_MS / 2)
    expect(await lock.send(2, [denied(2)])).toBe('accepted')
    expect(await seenAt()).toBe(first)
    setup.t.clock.advance(GATEWAY_SEEN_EVERY_MS)
    expect(await lock.send(3, [denied(3)])).toBe('accepted')
    expect(await seenAt()).toBe(new Date(setup.t.clock.now()).toISOString())
  })
})

describe('takeCounterAhead', () => {
  it('moves the window as acceptCounter does, and takes nothing at or below the last counter', async () => {
    const lock = await newLock()
    const now = new Date(setup.t.clock.now())
    const mask = (1n << BigInt(RECEIVE_WINDOW)) - 1n
    await fc.assert(
      fc.asyncProperty(
        fc.integer({ min: 0, max: 1_000_000 }),
        fc.bigInt({ min: 0n, max: mask }),
        fc.integer({ min: -60, max: 60 }),
        async (last, seenBig, step) => {
          const seen = last === 0 ? 0 : Number(seenBig)
          const counter = Math.max(0, last + step)
          await setup.t.store.db
            .update(locks)
            .set({ lastReceivedCounter: last, receivedWindow: seen })
            .where(eq(locks.id, lock.id))
          const taken = await setup.t.store.db.execute(takeCounterAhead(lock.id, counter, now))
          const [row] = await setup.t.store.db
            .select({ last: locks.lastReceivedCounter, seen: locks.receivedWindow })
            .from(locks)
            .where(eq(locks.id, lock.id))
          const expected = acceptCounter({ last, seen }, counter)
          if (counter > last) {
            expect(taken.rows).toHaveLength(1)
            expect(row).toEqual(expected)
          } else {
            expect(taken.rows).toHaveLength(0)
            expect(row).toEqual({ last, seen })
          }
        },
      ),
      { numRuns: 200 },
    )
  })
})

describe('the answer to an acknowledgement', () => {
  it('takes the counter, how far the lock dropped its events and the command once, in or out of order', async () => {
    const lock = await newLock()
    const ack = async (upToSeq: number) => {
      const id = randomUUID()
      await setup.t.store.db.insert(lockCommands).values(
        pendingCommandRow(
          setup.app.deps.secrets,
          { type: 'ack_events', upToSeq },
          {
            id,
            organizationId: setup.owner.organizationId,
            lockId: lock.id,
            counter: upToSeq,
            sentAtMs: setup.t.clock.now(),
          },
        ),
      )
      return id
    }
    const answer = (counter: number, commandId: string, ackedUpToSeq: number) =>
      handleLockUp(
        ctx(),
        setup.gatewayId,
        lock.id,
        sealLockMessage(lock.key, lock.id, counter, {
          kind: 'reply',
          id: commandId,
          status: 'ok',
          data: { ackedUpToSeq },
        }),
      )
    const state = async () => {
      const [row] = await setup.t.store.db
        .select({ last: locks.lastReceivedCounter, acked: locks.lastEventSeqAcked })
        .from(locks)
        .where(eq(locks.id, lock.id))
      return row
    }
    const statusOf = async (id: string) =>
      (await setup.t.store.db.select().from(lockCommands).where(eq(lockCommands.id, id)))[0]

    const first = await ack(5)
    const second = await ack(9)
    // the later answer first, then the earlier one (out of order, inside the window), then a copy
    expect(await answer(12, second, 9)).toBe('accepted')
    expect(await state()).toEqual({ last: 12, acked: 9 })
    expect(await statusOf(second)).toMatchObject({
      status: 'done',
      reply: { status: 'ok', data: { ackedUpToSeq: 9 } },
    })
    expect(await answer(11, first, 5)).toBe('accepted')
    expect(await state()).toEqual({ last: 12, acked: 9 })
    expect((await statusOf(first))?.status).toBe('done')
    expect(await answer(12, second, 9)).toBe('replayed')
    // an answer naming no command of this lock's takes its counter, and nothing else
    expect(await answer(13, randomUUID(), 20)).toBe('unknown_command')
    expect(await state()).toEqual({ last: 13, acked: 9 })
  })
})
