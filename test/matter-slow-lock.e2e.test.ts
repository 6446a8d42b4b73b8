/**
 * A Matter lock that hangs in the middle of a command (here: its process stopped) answers too late:
 * the command counts as not carried out and the lock as unreachable, but the lock may still carry it
 * out once it goes on. The next command to that lock must wait until then, or both choose a user slot
 * from the same picture of the lock and one code takes the other's slot. The server in this process,
 * `latchkey sim-matter` as in matter.e2e.test.ts.
 */
import { mkdtempSync, rmSync } from 'node:fs'
import { tmpdir } from 'node:os'
import { join } from 'node:path'
import type { Command } from '@latchkey/protocol'
import { sql } from 'drizzle-orm'
import { afterAll, beforeAll, expect, it } from 'vitest'
import {
  type ApiClient,
  commissionSimMatter,
  eventually,
  type SimMatterProcess,
  sleep,
  startSimMatter,
  startTestServer,
  type TestServer,
} from './harness.ts'

const TIME_LIMIT_MS = 3_000

let server: TestServer
let owner: ApiClient
let sim: SimMatterProcess
let stateDir: string

beforeAll(async () => {
  server = await startTestServer({ env: { LATCHKEY_MATTER_COMMAND_TIME_LIMIT_MS: String(TIME_LIMIT_MS) } })
  ;({ api: owner } = await server.signup())
  stateDir = mkdtempSync(join(tmpdir(), 'latchkey-e2e-matter-slow-'))
  sim = await startSimMatter({ stateDir, passcode: 20202021, discriminator: 3854 })
})

afterAll(async () => {
  sim?.resume()
  await server?.close()
  await sim?.stop()
  if (stateDir) rmSync(stateDir, { recursive: true, force: true })
})

const keypad = (digits: string) => sim.api.expect(200, 'POST', '/sim/lock/keypad', { digits })

it('lets a command that outlives its time limit end before the lock’s next one: every code its own user, none sent twice', async () => {
  const lock = await commissionSimMatter(owner, sim, 'Store room')
  const create = (name: string, code: string) =>
    owner.expect(201, 'POST', `/api/v1/locks/${lock.id}/access-codes`, { name, kind: 'permanent', code })
  // a first code set: the lock's table is read, and the codes after it go straight to the lock
  const first = await create('Caretaker', '284913')
  await eventually(
    'the first code set',
    async () => (await owner.expect(200, 'GET', `/api/v1/access-codes/${first.id}`)).status === 'set',
  )

  // the lock hangs while two codes go to it: the first command outlives its time limit
  sim.pause()
  await create('Cleaner', '395024')
  const plumber = await create('Plumber', '406135')
  // sent again while it waits (as the reconciler sends again what a lock out of reach may have
  // lost), the Plumber's set_code is the one already waiting, not a second
  const waiting = await eventually('the Plumber’s set_code waiting', async () => {
    const rows = await server.server.deps.db.execute(
      sql`select id, command from lock_commands where lock_id = ${lock.id} and type = 'set_code' and command->>'codeId' = ${plumber.id}`,
    )
    return rows.rows[0] as { id: string; command: Record<string, unknown> } | undefined
  })
  const again = await server.server.deps.channel.send(lock.id, {
    ...waiting.command,
    pin: '406135',
  } as Command)
  expect(again.commandId).toBe(waiting.id)
  await eventually(
    'the lock counted as unreachable',
    async () => !(await owner.expect(200, 'GET', `/api/v1/locks/${lock.id}`)).online,
    { timeoutMs: 20_000 },
  )
  await sleep(TIME_LIMIT_MS / 2)
  sim.resume()
  // sent again just after the lock carried it out (a look of the reconciler's that read the lock's
  // state a moment before the answer came), it is still the one the lock carried out
  await eventually(
    'the Plumber’s set_code carried out',
    async () => {
      const rows = await server.server.deps.db.execute(
        sql`select status from lock_commands where id = ${waiting.id}`,
      )
      return (rows.rows[0] as { status: string } | undefined)?.status === 'done'
    },
    { timeoutMs: 20_000, intervalMs: 50 },
  )
  const afterwards = await server.server.deps.channel.send(lock.id, {
    ...waiting.command,
    pin: '406135',
  } as Command)
  expect(afterwards.commandId).toBe(waiting.id)

  // once it goes on, each PIN opens the door as its own user
  const opened = await eventually(
    'every PIN opening the lock',
    async () => {
      const results: { pin: string; result: string; userIndex: number | null }[] = []
      for (const pin of ['284913', '395024', '406135']) results.push({ pin, ...(await keypad(pin)) })
      return results.every((r) => r.result === 'unlocked') ? results : null
    },
    { timeoutMs: 20_000, intervalMs: 500 },
  )
  expect(new Set(opened.map((r) => r.userIndex)).size).toBe(3)
  // the code that waited behind the slow command went on with its first command, even once the lock
  // was back and the reconciler sent again what it had dropped: no command of the lock's hour (a
  // battery lock's) spent on a second try
  const setCommands = await server.server.deps.db.execute(
    sql`select count(*)::int as n from lock_commands where lock_id = ${lock.id} and type = 'set_code' and command->>'codeId' = ${plumber.id}`,
  )
  const history = await server.server.deps.db.execute(
    sql`select type, status, command->>'codeId' as code, sent_at, replied_at from lock_commands where lock_id = ${lock.id} order by sent_at`,
  )
  expect(
    setCommands.rows[0],
    JSON.stringify({ plumber: plumber.id, history: history.rows }, null, 1),
  ).toEqual({ n: 1 })
}, 120_000)
