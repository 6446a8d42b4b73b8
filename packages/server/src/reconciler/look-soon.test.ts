/**
 * A change of a lock's codes is looked at at once, apart from the ticks: a delete reaches its lock
 * while the reconciler is still busy with another lock (whose command is slow to leave), and without
 * waiting for the periodic tick (set to an hour here).
 */
import type { Command } from '@latchkey/protocol'
import { afterEach, beforeEach, expect, it } from 'vitest'
import type { LockChannel } from '../devices/index.ts'
import { startReconciler } from './reconciler.ts'
import { addLock, codeEvents, createCode, type Fixture, getCode, settle, setup } from './test-setup.ts'

const HOUR = 3_600_000
const sleep = (ms: number) => new Promise((r) => setTimeout(r, ms))

let f: Fixture
/** Lets a held command go (so that a failed test still stops). */
let releaseHeld = () => {}
beforeEach(async () => {
  f = await setup()
})
afterEach(async () => {
  releaseHeld()
  await f.close()
})

/** Waits (bounded) until `check` holds. */
async function waitFor(what: string, check: () => boolean, timeoutMs = 5_000): Promise<void> {
  const deadline = Date.now() + timeoutMs
  while (!check()) {
    if (Date.now() > deadline) throw new Error(`not within ${timeoutMs} ms: ${what}`)
    await sleep(10)
  }
}

/** The fixture's channel, except that commands to `slowLock` wait until `release()` while `hold` is on. */
function slowFor(slowLock: string) {
  let releaseAll: () => void = () => {}
  let held = new Promise<void>((r) => {
    releaseAll = r
  })
  const state = { hold: false, waiting: 0 }
  const channel: LockChannel = {
    async send(lockId: string, command: Command) {
      if (state.hold && lockId === slowLock) {
        state.waiting += 1
        await held
      }
      return f.channel.send(lockId, command)
    },
    onReply: (handler) => f.channel.onReply(handler),
    onLockEvents: (handler) => f.channel.onLockEvents(handler),
    reachable: (lockId) => f.channel.reachable(lockId),
  }
  return {
    channel,
    state,
    release() {
      state.hold = false
      releaseAll()
      held = Promise.resolve()
    },
  }
}

it('a delete reaches its lock while the reconciler is busy with another lock, without waiting for a tick', async () => {
  const front = await addLock(f, { name: 'Front door' })
  const back = await addLock(f, { name: 'Back door' })
  const code = (await createCode(f, front.id, { name: 'Painter', kind: 'permanent', code: '817364' })).json()
  await settle(f)
  expect((await getCode(f, code.id)).status).toBe('set')

  // The running reconciler of a server, its periodic tick an hour away; its first tick reads every table.
  await f.reconciler.stop()
  const slow = slowFor(back.id)
  releaseHeld = () => slow.release()
  f.reconciler = startReconciler(f.app.deps, slow.channel, {
    tickMs: HOUR,
    refreshMs: 1000 * HOUR,
    onError: (error) => f.errors.push(error),
  })
  await waitFor('both tables asked for', () => f.channel.inFlight.length === 2)
  await f.channel.deliver()
  await sleep(100)
  await f.channel.deliver()

  // A new code on the back door: its look hangs on its set_code (a publish that does not come back).
  slow.state.hold = true
  const other = await createCode(f, back.id, { name: 'Cleaner', kind: 'permanent', code: '246813' })
  expect(other.statusCode).toBe(201)
  await waitFor('the back door’s command under way', () => slow.state.waiting === 1)

  f.channel.sent.length = 0
  const deleted = await f.app.inject({
    method: 'DELETE',
    url: `/api/v1/access-codes/${code.id}`,
    headers: f.owner.headers,
  })
  expect(deleted.statusCode).toBe(200)
  expect(deleted.json().status).toBe('removing')
  await waitFor('the remove_code sent to the front door', () =>
    f.channel.sent.some((s) => s.lockId === front.id && s.command.type === 'remove_code'),
  )
  expect(f.channel.sent).toEqual([{ lockId: front.id, command: { type: 'remove_code', codeId: code.id } }])
  expect(slow.state.waiting).toBe(1)

  // The lock's answer is taken at once too; then the back door's command goes on.
  await f.channel.deliver()
  await waitFor('nothing more in flight', () => f.channel.inFlight.length === 0)
  expect((await getCode(f, code.id)).status).toBe('removed')
  expect(f.channel.lock(front.id).codes).toEqual([])
  slow.release()
  await waitFor('the back door’s set_code sent', () =>
    f.channel.sent.some((s) => s.lockId === back.id && s.command.type === 'set_code'),
  )
  await f.channel.deliver()
  await waitFor('the back door’s code set', () => f.channel.lock(back.id).codes.length === 1)
  await f.reconciler.stop()
  expect((await codeEvents(f, code.id)).map((e) => e.type)).toEqual([
    'access_code.created',
    'access_code.set_on_lock',
    'access_code.deleted',
    'access_code.removed_from_lock',
  ])
  expect(f.errors).toEqual([])
})

it('an answer or events that leave the lock’s table as it was ask for no look; a use counted does', async () => {
  const lock = await addLock(f)
  const code = (await createCode(f, lock.id, { name: 'Painter', kind: 'permanent', code: '817364' })).json()
  await settle(f)
  await f.reconciler.stop()
  // every look asks whether the lock is in reach: counted here
  let looks = 0
  const channel: LockChannel = {
    send: (lockId, command) => f.channel.send(lockId, command),
    onReply: (handler) => f.channel.onReply(handler),
    onLockEvents: (handler) => f.channel.onLockEvents(handler),
    reachable: (lockId) => {
      looks += 1
      return f.channel.reachable(lockId)
    },
  }
  /** Waits (bounded) until no look has begun for `quietMs`; resolves how many began. */
  const looksUntilQuiet = async (quietMs = 500) => {
    let seen = -1
    for (let round = 0; round < 40 && seen !== looks; round++) {
      seen = looks
      await sleep(quietMs)
    }
    return looks
  }
  f.reconciler = startReconciler(f.app.deps, channel, {
    tickMs: HOUR,
    refreshMs: 1000 * HOUR,
    onError: (error) => f.errors.push(error),
  })
  // its first tick reads the table again
  await waitFor('the table asked for', () => f.channel.inFlight.length === 1)
  await f.channel.deliver()
  const before = await looksUntilQuiet()

  await f.channel.send(lock.id, { type: 'unlock', notAfter: f.t.clock.now() + 60_000 })
  await f.channel.deliver()
  await f.channel.emit(lock.id, [{ seq: 1, at: f.t.clock.now(), type: 'code_removed', codeId: code.id }])
  expect(await looksUntilQuiet()).toBe(before)

  await f.channel.keypadUnlock(lock.id, code.id, f.t.clock.now())
  await waitFor('a look after the use', () => looks > before)
  expect(await looksUntilQuiet()).toBe(before + 1)
  expect((await getCode(f, code.id)).uses).toBe(1)
})
