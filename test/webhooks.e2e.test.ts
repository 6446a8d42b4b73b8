/**
 * Webhook deliveries are work in the database: a `latchkey serve` killed with SIGKILL while it is
 * sending them, and started again on its data directory, loses none. The receiver is a real HTTP
 * server on loopback; every delivery is checked with the standardwebhooks library's verifier.
 * The crash runs on PGlite (one process owns its data directory, so the restarted one takes over at
 * once); on the real PostgreSQL (`npm run test:services`) two processes share the deliveries and never
 * send one at the same time.
 */
import { type ChildProcess, spawn } from 'node:child_process'
import { randomBytes } from 'node:crypto'
import { mkdtempSync, rmSync } from 'node:fs'
import { tmpdir } from 'node:os'
import { join } from 'node:path'
import { Webhook } from 'standardwebhooks'
import { afterAll, describe, expect, it, onTestFailed } from 'vitest'
import { webhookAttempts } from '../packages/server/src/store/schema.ts'
import { openTestStore, type TestStore, usingTestServices } from '../packages/server/src/testing.ts'
import { type Receiver, startReceiver } from '../packages/server/src/webhooks/testing.ts'
import { ApiClient, type Body, eventually, REPO_ROOT, sleep } from './harness.ts'

interface Serve {
  child: ChildProcess
  url: string
  output(): string
}

const children: ChildProcess[] = []
const dirs: string[] = []
let receiver: Receiver | null = null
let store: TestStore | null = null

function exited(child: ChildProcess): Promise<void> {
  if (child.exitCode !== null || child.signalCode !== null) return Promise.resolve()
  return new Promise((resolve) => child.once('exit', () => resolve()))
}

async function stop(child: ChildProcess, signal: NodeJS.Signals): Promise<void> {
  if (child.exitCode !== null || child.signalCode !== null) return
  child.kill(signal)
  if (!(await Promise.race([exited(child).then(() => true), sleep(15_000).then(() => false)]))) {
    child.kill('SIGKILL')
    await exited(child)
  }
}

async function serve(dataDir: string, env: Record<string, string>): Promise<Serve> {
  const child = spawn(
    process.execPath,
    [join(REPO_ROOT, 'packages/cli/bin/latchkey.js'), 'serve', '--port', '0', '--data-dir', dataDir],
    { cwd: REPO_ROOT, env: { ...process.env, ...env }, stdio: ['ignore', 'pipe', 'pipe'] },
  )
  children.push(child)
  let output = ''
  const append = (chunk: Buffer) => {
    output = (output + chunk.toString('utf8')).slice(-20_000)
  }
  child.stdout?.on('data', append)
  child.stderr?.on('data', append)
  const url = await eventually(
    'latchkey serve to print its URL',
    () => {
      if (child.exitCode !== null) throw new Error(`latchkey serve exited with ${child.exitCode}:\n${output}`)
      return /Latchkey is running at (http:\/\/\S+)/.exec(output)?.[1]
    },
    { timeoutMs: 60_000, intervalMs: 50 },
  )
  return { child, url, output: () => output }
}

afterAll(async () => {
  for (const child of children) await stop(child, 'SIGKILL')
  await receiver?.close()
  await store?.close()
  for (const dir of dirs) rmSync(dir, { recursive: true, force: true })
})

describe.skipIf(usingTestServices())('webhooks across a crash', () => {
  it('a server killed with -9 while delivering, started again, loses no delivery', async () => {
    const dataDir = mkdtempSync(join(tmpdir(), 'latchkey-webhooks-'))
    dirs.push(dataDir)
    const env = {
      LATCHKEY_MASTER_KEY: randomBytes(32).toString('base64'),
      LATCHKEY_WEBHOOK_ALLOW_PRIVATE: '1',
      LOG_LEVEL: 'warn',
    }
    // slow to answer, so the kill finds deliveries still to send and one on its way
    receiver = await startReceiver({ delayMs: 300 })
    let first = await serve(dataDir, env)
    onTestFailed(() => console.log(first.output()))
    const anonymous = new ApiClient(first.url)
    const signup = await anonymous.expect(201, 'POST', '/api/v1/auth/signup', {
      email: 'owner@webhooks.test',
      password: 'correct horse battery',
      organizationName: 'Crash test',
    })
    let api = anonymous.withToken(signup.token)
    const webhook = await api.expect(201, 'POST', '/api/v1/webhooks', {
      url: receiver.url,
      eventTypes: ['lock.created'],
    })
    const LOCKS = 10
    for (let i = 1; i <= LOCKS; i++) {
      await api.expect(201, 'POST', '/api/v1/locks', { name: `Door ${i}`, timezone: 'UTC' })
    }
    await eventually('three deliveries accepted and one on its way', () =>
      receiver!.accepted().length >= 3 && receiver!.inFlight() >= 1 ? true : undefined,
    )
    await stop(first.child, 'SIGKILL')
    const acceptedBeforeKill = new Set(receiver.accepted().map((r) => r.headers['webhook-id'])).size
    expect(acceptedBeforeKill).toBeLessThan(LOCKS)

    first = await serve(dataDir, env)
    api = new ApiClient(first.url, signup.token)
    const ids = (
      await api.expect(200, 'GET', '/api/v1/events?type=lock.created&order=asc&limit=100')
    ).items.map((e: Body) => e.id)
    expect(ids).toHaveLength(LOCKS)
    await eventually(
      'every event delivered after the restart',
      () =>
        new Set(receiver!.accepted().map((r) => r.headers['webhook-id'])).size === LOCKS ? true : undefined,
      { timeoutMs: 45_000, intervalMs: 200 },
    )
    const verifier = new Webhook(webhook.secret)
    const delivered = receiver
      .accepted()
      .map((r) => verifier.verify(r.body, r.headers as Record<string, string>) as { data: { id: string } })
    // at least once (the one on its way at the kill may come twice), in event order, none lost
    const firstSeen = [...new Set(delivered.map((d) => d.data.id))]
    expect(firstSeen).toEqual(ids)
    expect(delivered.length).toBeLessThanOrEqual(LOCKS + 1)
    const log = await api.expect(200, 'GET', `/api/v1/webhooks/${webhook.id}/deliveries`)
    expect(log.items.map((d: Body) => d.status)).toEqual(Array(LOCKS).fill('delivered'))
  }, 150_000)
})

describe.runIf(usingTestServices())('webhooks from two server processes', () => {
  it('on one PostgreSQL never send one delivery twice, nor twice at the same time, and keep each webhook in order', async () => {
    store = await openTestStore({ services: true })
    const env = {
      DATABASE_URL: store.databaseUrl!,
      LATCHKEY_MASTER_KEY: randomBytes(32).toString('base64'),
      LATCHKEY_WEBHOOK_ALLOW_PRIVATE: '1',
      LOG_LEVEL: 'warn',
    }
    // the first answers wait until more deliveries are on their way than one process sends at once
    let open = () => {}
    receiver = await startReceiver({ delayMs: 20, gate: new Promise<void>((resolve) => (open = resolve)) })
    const servers: Serve[] = []
    for (const name of ['a', 'b']) {
      const dataDir = mkdtempSync(join(tmpdir(), `latchkey-webhooks-${name}-`))
      dirs.push(dataDir)
      servers.push(await serve(dataDir, env))
    }
    onTestFailed(() => console.log(servers.map((s) => s.output()).join('\n----\n')))
    const signup = await new ApiClient(servers[0]!.url).expect(201, 'POST', '/api/v1/auth/signup', {
      email: 'owner@two-servers.test',
      password: 'correct horse battery',
      organizationName: 'Two servers',
    })
    const [a, b] = servers.map((s) => new ApiClient(s.url, signup.token)) as [ApiClient, ApiClient]
    const WEBHOOKS = 20 // more than the 8 one process sends at once
    const LOCKS = 3
    const hooks: Body[] = []
    for (let i = 0; i < WEBHOOKS; i++) {
      hooks.push(
        await (i % 2 === 0 ? a : b).expect(201, 'POST', '/api/v1/webhooks', {
          url: `${receiver.url}?hook=${i}`,
          eventTypes: ['lock.created'],
        }),
      )
    }
    for (let i = 0; i < LOCKS; i++) {
      await (i % 2 === 0 ? a : b).expect(201, 'POST', '/api/v1/locks', { name: `Door ${i}`, timezone: 'UTC' })
    }
    await eventually('both processes sending at once', () => (receiver!.inFlight() > 8 ? true : undefined))
    open()
    const ids = (
      await a.expect(200, 'GET', '/api/v1/events?type=lock.created&order=asc&limit=100')
    ).items.map((e: Body) => e.id)
    await eventually(
      'every delivery accepted',
      () => (receiver!.accepted().length >= WEBHOOKS * LOCKS ? true : undefined),
      { timeoutMs: 45_000, intervalMs: 200 },
    )
    await sleep(1_500) // a second sending of any of them would arrive by now
    expect(receiver.requests).toHaveLength(WEBHOOKS * LOCKS)
    expect(receiver.mostAtOnce()).toBe(1)
    expect(new Set(receiver.requests.map((r) => r.headers['webhook-id'])).size).toBe(WEBHOOKS * LOCKS)
    for (const [i, hook] of hooks.entries()) {
      const verifier = new Webhook(hook.secret)
      const got = receiver.requests
        .filter((r) => r.url.endsWith(`?hook=${i}`))
        .map(
          (r) =>
            (verifier.verify(r.body, r.headers as Record<string, string>) as { data: { id: string } }).data
              .id,
        )
      expect(got).toEqual(ids)
    }
    const senders = await store.db.selectDistinct({ sentBy: webhookAttempts.sentBy }).from(webhookAttempts)
    expect(senders).toHaveLength(2)
  }, 150_000)
})
