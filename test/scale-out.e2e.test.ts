/**
 * The scale-out setup (SPEC §1): two `latchkey serve` processes on one PostgreSQL database and one
 * Mosquitto (dynamic security), one `latchkey sim` process with the locks. Both servers serve the same
 * organization; the work on the locks (codes, events, remote unlocks) is done once, whichever server
 * took the request; and when one server dies, the other finishes its work. Runs only against the real
 * services (`npm run test:services`): the embedded broker lives inside one process.
 */
import { type ChildProcess, spawn } from 'node:child_process'
import { randomBytes } from 'node:crypto'
import { mkdtempSync, rmSync } from 'node:fs'
import { tmpdir } from 'node:os'
import { join } from 'node:path'
import { inArray } from 'drizzle-orm'
import { afterAll, beforeAll, beforeEach, describe, expect, it, onTestFailed } from 'vitest'
import {
  type PrivateMosquitto,
  startPrivateMosquitto,
} from '../packages/server/src/broker/private-mosquitto.ts'
import { locks as lockRows } from '../packages/server/src/store/schema.ts'
import { openTestStore, type TestStore, usingTestServices } from '../packages/server/src/testing.ts'
import {
  ApiClient,
  type Body,
  eventually,
  REPO_ROOT,
  type SimProcess,
  sleep,
  startSim,
  startSimMatter,
} from './harness.ts'

/** How long the lease a killed server left on the locks still runs. */
const LEFT_LEASE_MS = 4_000

interface ServerProcess {
  child: ChildProcess
  url: string
  output(): string
  kill(signal: NodeJS.Signals): Promise<void>
}

const dirs: string[] = []
const servers: ServerProcess[] = []
let store: TestStore | null = null
let mosquitto: PrivateMosquitto | null = null
let sim: SimProcess | null = null
let a: ApiClient
let b: ApiClient
const locks: string[] = []
let gatewayId = ''
/** The burst's codes on each lock (index as in `locks`). */
const burst: string[][] = [[], []]

function tempDir(prefix: string): string {
  const dir = mkdtempSync(join(tmpdir(), prefix))
  dirs.push(dir)
  return dir
}

async function startServerProcess(env: Record<string, string>): Promise<ServerProcess> {
  const child = spawn(
    process.execPath,
    [
      join(REPO_ROOT, 'packages/cli/bin/latchkey.js'),
      'serve',
      '--port',
      '0',
      '--data-dir',
      tempDir('latchkey-scale-'),
    ],
    { cwd: REPO_ROOT, env: { ...process.env, ...env }, stdio: ['ignore', 'pipe', 'pipe'] },
  )
  let output = ''
  const append = (chunk: Buffer) => {
    output = (output + chunk.toString('utf8')).slice(-20_000)
  }
  child.stdout?.on('data', append)
  child.stderr?.on('data', append)
  const exited = () =>
    child.exitCode !== null || child.signalCode !== null
      ? Promise.resolve()
      : new Promise<void>((resolve) => child.once('exit', () => resolve()))
  const kill = async (signal: NodeJS.Signals) => {
    if (child.exitCode !== null || child.signalCode !== null) return
    child.kill(signal)
    if (!(await Promise.race([exited().then(() => true), sleep(15_000).then(() => false)]))) {
      child.kill('SIGKILL')
      await exited()
    }
  }
  const server: ServerProcess = { child, url: '', output: () => output, kill }
  servers.push(server)
  server.url = await eventually(
    'latchkey serve to print its URL',
    () => {
      if (child.exitCode !== null) throw new Error(`latchkey serve exited with ${child.exitCode}:\n${output}`)
      return /Latchkey is running at (http:\/\/\S+)/.exec(output)?.[1]
    },
    { timeoutMs: 60_000, intervalMs: 50 },
  )
  return server
}

async function events(api: ApiClient, query: string): Promise<Body[]> {
  const items: Body[] = []
  let after: string | undefined
  for (let page = 0; page < 50; page++) {
    const body = await api.expect(
      200,
      'GET',
      `/api/v1/events?${query}&order=asc&limit=100${after ? `&after=${after}` : ''}`,
    )
    items.push(...body.items)
    if (!body.nextCursor) break
    after = body.nextCursor
  }
  return items
}

const count = (items: Body[], predicate: (e: Body) => boolean) => items.filter(predicate).length

async function createCode(api: ApiClient, lockId: string, name: string): Promise<Body> {
  return api.expect(201, 'POST', `/api/v1/locks/${lockId}/access-codes`, {
    name,
    kind: 'permanent',
    delivery: 'synced',
  })
}

async function allSet(api: ApiClient, ids: string[], timeoutMs = 45_000): Promise<void> {
  let last: string[] = []
  try {
    await eventually(
      `${ids.length} codes set`,
      async () => {
        last = []
        for (const id of ids) {
          const code = await api.expect(200, 'GET', `/api/v1/access-codes/${id}`)
          if (code.status !== 'set')
            last.push(
              `${code.name}: ${code.status} ${JSON.stringify(code.errors)} ${JSON.stringify(code.warnings)}`,
            )
        }
        return last.length === 0
      },
      { timeoutMs, intervalMs: 250 },
    )
  } catch (error) {
    const rejected = (await events(api, 'type=lock.frame_rejected')).map((e) => e.data.reason)
    throw new Error(
      `${(error as Error).message}; not set: ${last.join(' | ')}; frames rejected: ${rejected.join(', ')}`,
    )
  }
}

/**
 * Every event the lock recorded reached the audit exactly once: the lockSeqs stored for it are
 * 1…lastSeq of the lock's own counter, none missing, none twice, and the lock holds none unacknowledged.
 */
async function expectEveryLockEventOnce(lockId: string): Promise<void> {
  let seen = ''
  try {
    await eventually(
      `every event of lock ${lockId} stored once`,
      async () => {
        const ring = (await sim!.api.expect(200, 'GET', `/sim/locks/${lockId}`)).events
        const seqs = (await events(a, `lockId=${lockId}`))
          .map((e) => e.data.lockSeq)
          .filter((s): s is number => typeof s === 'number')
          .sort((x, y) => x - y)
        seen = `lastSeq ${ring.lastSeq}, unacked ${ring.unacked}, stored ${seqs.join(',')}`
        return ring.unacked === 0 && seqs.length === ring.lastSeq && seqs.every((s, i) => s === i + 1)
      },
      { timeoutMs: 15_000, intervalMs: 200 },
    )
  } catch (error) {
    throw new Error(`${(error as Error).message}: ${seen}`)
  }
}

const tableOf = async (lockId: string): Promise<string[]> =>
  ((await sim!.api.expect(200, 'GET', `/sim/locks/${lockId}`)).codes as { codeId: string }[])
    .map((c) => c.codeId)
    .sort()

describe.skipIf(!usingTestServices())('two server processes on one database and one broker', () => {
  beforeAll(async () => {
    store = await openTestStore({ services: true })
    mosquitto = await startPrivateMosquitto()
    const login = `${encodeURIComponent(mosquitto.admin.username)}:${encodeURIComponent(mosquitto.admin.password)}`
    const env = {
      DATABASE_URL: store.databaseUrl!,
      MQTT_URL: `mqtt://${login}@${mosquitto.host}:${mosquitto.port}`,
      LATCHKEY_MASTER_KEY: randomBytes(32).toString('base64'),
      // warnings and errors only, so what a failing step shows of the servers' output is to the point
      LOG_LEVEL: 'warn',
    }
    const [serverA, serverB] = [await startServerProcess(env), await startServerProcess(env)]
    const signup = await new ApiClient(serverA!.url).expect(201, 'POST', '/api/v1/auth/signup', {
      email: `scale-${process.pid}@example.test`,
      password: 'correct horse battery',
      organizationName: 'Two Servers Pty',
    })
    a = new ApiClient(serverA!.url, signup.token)
    const login2 = await new ApiClient(serverB!.url).expect(200, 'POST', '/api/v1/auth/login', {
      email: `scale-${process.pid}@example.test`,
      password: 'correct horse battery',
    })
    b = new ApiClient(serverB!.url, login2.token)
    const gateway = await a.expect(201, 'POST', '/api/v1/gateways', { name: 'Lobby' })
    gatewayId = gateway.id
    sim = await startSim({
      serverUrl: serverA!.url,
      gatewayId: gateway.id,
      gatewayToken: gateway.mqtt.password,
      stateDir: tempDir('latchkey-scale-sim-'),
    })
    for (const name of ['North door', 'South door']) {
      const lock = await b.expect(201, 'POST', '/api/v1/locks', {
        name,
        timezone: 'Australia/Sydney',
        gatewayId: gateway.id,
      })
      await sim.api.expect(201, 'POST', '/sim/locks', { bundle: lock.bundle })
      locks.push(lock.id)
    }
  }, 180_000)

  afterAll(async () => {
    await sim?.stop()
    for (const server of servers) await server.kill('SIGTERM')
    await mosquitto?.stop()
    await store?.close()
    for (const dir of dirs) rmSync(dir, { recursive: true, force: true })
  }, 120_000)

  beforeEach(() => {
    // what the processes said (warnings and errors), beside a failing step's message
    onTestFailed(() => {
      const said = servers.map((s, i) => `--- server ${'AB'[i]}\n${s.output()}`)
      console.error([...said, `--- sim\n${sim?.output() ?? ''}`].join('\n'))
    })
  })

  it('serve the same organization: the locks come online as seen through both', async () => {
    for (const api of [a, b]) {
      let seen = ''
      try {
        await eventually('both locks online with their clocks set', async () => {
          const body = await api.expect(200, 'GET', '/api/v1/locks')
          const mine = body.items.filter((l: Body) => locks.includes(l.id))
          seen = JSON.stringify(
            mine.map((l: Body) => ({ name: l.name, online: l.online, clockSet: l.clockSet })),
          )
          return mine.length === 2 && mine.every((l: Body) => l.online && l.clockSet)
        })
      } catch (error) {
        throw new Error(`${(error as Error).message}: ${seen}`)
      }
      const gateways = (await api.expect(200, 'GET', '/api/v1/gateways')).items
      expect(gateways.map((g: Body) => ({ id: g.id, online: g.online }))).toEqual([
        { id: gatewayId, online: true },
      ])
    }
  })

  it('put a burst of codes created through either of them on the locks once each', async () => {
    const ids: string[] = []
    for (let i = 0; i < 30; i++) {
      const api = i % 2 === 0 ? a : b
      const code = await createCode(api, locks[i % 2]!, `Burst ${i}`)
      ids.push(code.id)
    }
    await allSet(a, ids)
    for (const [index, lockId] of locks.entries()) {
      const wanted = ids.filter((_, i) => i % 2 === index).sort()
      burst[index] = wanted
      expect(await tableOf(lockId)).toEqual(wanted)
      // each code reached the lock once: one set_on_lock and one code_added per code, no more (the
      // lock's code_added comes in its event batch, which may follow the reply: wait for it)
      await expectEveryLockEventOnce(lockId)
      const audit = await events(b, `lockId=${lockId}`)
      for (const id of wanted) {
        expect({
          id,
          setOnLock: count(audit, (e) => e.type === 'access_code.set_on_lock' && e.accessCodeId === id),
          added: count(audit, (e) => e.type === 'lock.code_added' && e.accessCodeId === id),
        }).toEqual({ id, setOnLock: 1, added: 1 })
      }
    }
    // a keypad use of each of three codes is stored exactly once
    const used = ids.slice(0, 3)
    for (const id of used) {
      const code = await b.expect(200, 'GET', `/api/v1/access-codes/${id}`)
      const result = await sim!.api.expect(200, 'POST', `/sim/locks/${code.lockId}/keypad`, {
        digits: code.code,
      })
      expect(result).toEqual({ result: 'unlocked' })
    }
    await eventually('the three keypad uses in the audit', async () => {
      const audit = await events(a, 'type=lock.unlocked')
      return used.every((id) => count(audit, (e) => e.accessCodeId === id) === 1)
    })
    // counted once on both sides: the lock's own table and the server's code
    for (const id of used) {
      const code = await eventually('the use counted on the code', async () => {
        const body = await a.expect(200, 'GET', `/api/v1/access-codes/${id}`)
        return body.uses > 0 ? body : null
      })
      const onLock = (await sim!.api.expect(200, 'GET', `/sim/locks/${code.lockId}`)).codes.find(
        (c: Body) => c.codeId === id,
      )
      expect({ server: code.uses, lock: onLock.uses }).toEqual({ server: 1, lock: 1 })
    }
    for (const lockId of locks) await expectEveryLockEventOnce(lockId)
  })

  it('open a lock once per remote unlock, through either server', async () => {
    const lockId = locks[0]!
    const remote = async () =>
      (await events(a, `lockId=${lockId}&type=lock.unlocked`)).filter((e) => e.data.method === 'remote')
    const before = (await remote()).length
    const lastSeq = (await sim!.api.expect(200, 'GET', `/sim/locks/${lockId}`)).events.lastSeq
    // the lock's answer reaches the server that asked, whichever server process handled it
    for (const api of [a, b]) {
      const response = await api.request('POST', `/api/v1/locks/${lockId}/unlock`)
      expect({ status: response.status, body: response.body }).toEqual({
        status: 200,
        body: { commandId: expect.any(String), status: 'done' },
      })
    }
    await expectEveryLockEventOnce(lockId)
    const opened = (await remote()).slice(before)
    expect(opened.map((e) => e.data.lockSeq)).toEqual([lastSeq + 1, lastSeq + 2])
    expect((await sim!.api.expect(200, 'GET', `/sim/locks/${lockId}`)).events.lastSeq).toBe(lastSeq + 2)
  })

  it('leave a Matter lock to the process of its fabric: codes made through the other reach it', async () => {
    const matterDir = tempDir('latchkey-scale-matter-')
    const matterLock = await startSimMatter({ stateDir: matterDir, passcode: 20202021, discriminator: 3860 })
    try {
      const lock = await a.expect(201, 'POST', '/api/v1/locks', {
        name: 'Side gate',
        timezone: 'UTC',
        driver: 'matter',
        matter: {
          passcode: matterLock.passcode,
          discriminator: matterLock.discriminator,
          address: matterLock.address,
        },
      })
      const codes = [
        await createCode(b, lock.id, 'Through B'),
        await createCode(a, lock.id, 'Through A'),
        await createCode(b, lock.id, 'Through B again'),
      ]
      await allSet(
        b,
        codes.map((c) => c.id),
      )
      for (const code of codes)
        expect(
          await matterLock.api.expect(200, 'POST', '/sim/lock/keypad', { digits: code.code }),
        ).toMatchObject({ result: 'unlocked' })
      const opened = await eventually('the three openings in the audit, once each', async () => {
        const items = await events(b, `lockId=${lock.id}&type=lock.unlocked`)
        return items.length >= 3 ? items : null
      })
      expect(opened.map((e) => e.data.label).sort()).toEqual(['Through A', 'Through B', 'Through B again'])
      // a remote unlock is the fabric's process's to send; the other says so in words
      const elsewhere = await b.request('POST', `/api/v1/locks/${lock.id}/unlock`)
      expect(elsewhere.status).toBe(503)
      expect(elsewhere.body).toMatchObject({
        code: 'service_unavailable',
        detail: expect.stringMatching(
          /^this Matter lock is driven by the server process that commissioned it/,
        ),
      })
      expect((await a.request('POST', `/api/v1/locks/${lock.id}/unlock`)).status).toBe(200)
      await a.expect(204, 'DELETE', `/api/v1/locks/${lock.id}`)
    } finally {
      await matterLock.stop()
    }
  }, 120_000)

  it('finish the work of a server that died (kill -9)', async () => {
    const [serverA] = servers
    // the gateway is cut off, so what A accepts stays pending on the lock side
    await sim!.api.expect(200, 'POST', '/sim/gateway/link', { online: false })
    await eventually('the locks offline', async () => {
      const body = await b.expect(200, 'GET', '/api/v1/locks')
      return body.items.filter((l: Body) => locks.includes(l.id)).every((l: Body) => !l.online)
    })
    const pending = [
      await createCode(a, locks[0]!, 'While A lived 1'),
      await createCode(a, locks[1]!, 'While A lived 2'),
    ]
    expect(pending.map((c) => c.status)).toEqual(['setting', 'setting'])
    await serverA!.kill('SIGKILL')
    // A killed in the middle of a pass leaves its lease on the locks it was working on; the moment of
    // a pass cannot be hit from outside, so the lease A would leave is written here, running out soon.
    const leaseEnd = new Date(Date.now() + LEFT_LEASE_MS)
    await store!.db
      .update(lockRows)
      .set({ claimedBy: 'server A (killed)', claimedUntil: leaseEnd })
      .where(inArray(lockRows.id, locks))
    await sim!.api.expect(200, 'POST', '/sim/gateway/link', { online: true })
    await allSet(
      b,
      pending.map((c) => c.id),
      90_000,
    )
    // B touched neither lock before A's lease ran out, and gave them back after its pass
    const setOnLock = (await events(b, 'type=access_code.set_on_lock')).filter((e) =>
      pending.some((c) => c.id === e.accessCodeId),
    )
    expect(setOnLock.map((e) => e.accessCodeId).sort()).toEqual(pending.map((c) => c.id).sort())
    for (const event of setOnLock) expect(Date.parse(event.recordedAt)).toBeGreaterThan(leaseEnd.getTime())
    const claims = await store!.db
      .select({ claimedBy: lockRows.claimedBy })
      .from(lockRows)
      .where(inArray(lockRows.id, locks))
    expect(claims.map((c) => c.claimedBy)).not.toContain('server A (killed)')
    for (const [index, lockId] of locks.entries())
      expect(await tableOf(lockId)).toEqual([...burst[index]!, pending[index].id].sort())
    // and a deletion through the surviving server reaches the lock, once
    await b.expect(200, 'DELETE', `/api/v1/access-codes/${pending[0].id}`)
    await eventually(
      'the deleted code removed',
      async () => (await b.expect(200, 'GET', `/api/v1/access-codes/${pending[0].id}`)).status === 'removed',
      { timeoutMs: 45_000, intervalMs: 250 },
    )
    expect(await tableOf(locks[0]!)).toEqual(burst[0])
    // each step once (the lock's events and the server's replies reach the audit in either order)
    const once = [
      'access_code.created',
      'access_code.deleted',
      'access_code.removed_from_lock',
      'access_code.set_on_lock',
      'lock.code_added',
      'lock.code_removed',
    ]
    let trail: string[] = []
    await eventually('the whole trail of the deleted code', async () => {
      trail = (await events(b, `accessCodeId=${pending[0].id}`)).map((e) => e.type).sort()
      return trail.length >= once.length
    }).catch((error) => {
      throw new Error(`${(error as Error).message}: ${trail.join(', ')}`)
    })
    expect(trail).toEqual(once)
  }, 180_000)

  it('logged no error while doing so', () => {
    for (const [i, server] of servers.entries()) {
      const errors = server
        .output()
        .split('\n')
        .filter((line) => /"level":(50|60)/.test(line))
      expect({ server: 'AB'[i], errors }).toEqual({ server: 'AB'[i], errors: [] })
    }
  })
})
