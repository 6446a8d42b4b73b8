/**
 * The `latchkey` command as a person runs it: a separate process, its output and its exit status.
 */
import { type ChildProcess, spawn } from 'node:child_process'
import { existsSync, mkdtempSync, readFileSync, rmSync } from 'node:fs'
import { createServer, type Server } from 'node:net'
import { tmpdir } from 'node:os'
import { dirname, join } from 'node:path'
import { fileURLToPath } from 'node:url'
import { afterAll, describe, expect, it } from 'vitest'
import { ENVIRONMENT } from './environment.ts'

const here = dirname(fileURLToPath(import.meta.url))
const BIN = join(here, '../bin/latchkey.js')
const temp = mkdtempSync(join(tmpdir(), 'latchkey-cli-test-'))
afterAll(() => rmSync(temp, { recursive: true, force: true }))

/** Every variable a test process might inherit and the command would read. */
const cleanEnv = () => {
  const env: Record<string, string | undefined> = { ...process.env, LOG_LEVEL: 'warn' }
  for (const name of Object.keys(ENVIRONMENT)) if (name !== 'LOG_LEVEL') delete env[name]
  return env
}

function run(
  args: string[],
  env = cleanEnv(),
): Promise<{ code: number | null; stdout: string; stderr: string }> {
  return new Promise((resolve) => {
    const child = spawn(process.execPath, [BIN, ...args], { env, stdio: ['ignore', 'pipe', 'pipe'] })
    let stdout = ''
    let stderr = ''
    child.stdout.on('data', (d) => {
      stdout += d
    })
    child.stderr.on('data', (d) => {
      stderr += d
    })
    child.on('exit', (code) => resolve({ code, stdout, stderr }))
  })
}

/** Starts a long-running command and waits until its output matches `ready`. */
function start(args: string[], ready: RegExp): Promise<{ child: ChildProcess; output: () => string }> {
  return new Promise((resolve, reject) => {
    const child = spawn(process.execPath, [BIN, ...args], {
      env: cleanEnv(),
      stdio: ['ignore', 'pipe', 'pipe'],
    })
    let out = ''
    const onData = (d: Buffer) => {
      out += d
      if (ready.test(out)) resolve({ child, output: () => out })
    }
    child.stdout.on('data', onData)
    child.stderr.on('data', onData)
    child.on('exit', (code) => reject(new Error(`exited with ${code} before it was ready:\n${out}`)))
  })
}

function stop(child: ChildProcess): Promise<void> {
  return new Promise((resolve) => {
    if (child.exitCode !== null) return resolve()
    child.removeAllListeners('exit')
    child.on('exit', () => resolve())
    child.kill('SIGTERM')
  })
}

describe('latchkey --help', () => {
  it('lists every command, and each command every option and every environment variable it reads', async () => {
    const top = await run(['--help'])
    expect(top.code).toBe(0)
    for (const command of ['serve', 'sim', 'admin'])
      expect(top.stdout).toMatch(new RegExp(`^  ${command} `, 'm'))
    for (const name of Object.keys(ENVIRONMENT)) expect(top.stdout).toContain(name)

    const serve = (await run(['serve', '--help'])).stdout
    for (const option of ['--port', '--host', '--data-dir', '--mqtt-port', '--demo'])
      expect(serve).toContain(option)
    for (const name of [
      'DATABASE_URL',
      'MQTT_URL',
      'LATCHKEY_MASTER_KEY',
      'LATCHKEY_MQTT_PUBLIC_URL',
      'LOG_LEVEL',
      'LATCHKEY_DEMO_EMAIL',
      'LATCHKEY_DEMO_PASSWORD',
      'LATCHKEY_DEMO_TIMEZONE',
    ])
      expect(serve).toContain(name)
    const sim = (await run(['sim', '--help'])).stdout
    for (const text of [
      '--server',
      '--gateway-id',
      '--gateway-token',
      '--mqtt-url',
      '--control-port',
      '--state-dir',
    ])
      expect(sim).toContain(text)
    expect(sim).toContain('LATCHKEY_GATEWAY_TOKEN')
    const owner = (await run(['admin', 'create-owner', '--help'])).stdout
    for (const text of ['--email', '--password', '--organization', '--data-dir', 'DATABASE_URL'])
      expect(owner).toContain(text)
  }, 120_000)

  it('names in the help every environment variable the command line reads', () => {
    const sources = ['main.ts', 'demo.ts'].map((f) => readFileSync(join(here, f), 'utf8')).join('\n')
    const read = new Set([...sources.matchAll(/\benv\.([A-Z][A-Z0-9_]+)/g)].map((m) => m[1]))
    expect([...read].filter((name) => !(name! in ENVIRONMENT))).toEqual([])
  })

  it('an unknown command exits non-zero with the list of commands', async () => {
    const result = await run(['frobnicate'])
    expect(result.code).not.toBe(0)
    expect(result.stderr).toContain("unknown command 'frobnicate'")
    expect(result.stderr).toMatch(/Commands:\n {2}serve[\s\S]* {2}sim[\s\S]* {2}admin/)
  }, 60_000)
})

describe('latchkey serve', () => {
  it('finds a port in use before it creates a data directory or a master key', async () => {
    const taken: Server = createServer()
    await new Promise<void>((r) => taken.listen(0, '127.0.0.1', () => r()))
    const port = (taken.address() as { port: number }).port
    const dataDir = join(temp, 'never-made')
    const result = await run(['serve', '--port', String(port), '--data-dir', dataDir, '--mqtt-port', '0'])
    await new Promise<void>((r) => taken.close(() => r()))
    expect(result.code).toBe(1)
    expect(result.stderr).toContain(`cannot listen on 127.0.0.1:${port}: the port is in use`)
    expect(existsSync(dataDir)).toBe(false)
  }, 60_000)

  it('refuses a sign-up mode that is not one before it creates anything', async () => {
    const dataDir = join(temp, 'never-made-signup')
    const result = await run([
      'serve',
      '--port',
      '0',
      '--mqtt-port',
      '0',
      '--data-dir',
      dataDir,
      '--signup',
      'maybe',
    ])
    expect(result.code).toBe(1)
    expect(result.stderr).toContain('the sign-up mode “maybe” is not one: give first, open or closed')
    expect(existsSync(dataDir)).toBe(false)
  }, 60_000)

  it('--signup closed: the server takes no sign-up, and its start says only create-owner', async () => {
    const dataDir = join(temp, 'closed')
    const args = ['serve', '--port', '0', '--mqtt-port', '0', '--data-dir', dataDir, '--signup', 'closed']
    const server = await start(args, /No organization exists yet[^\n]*\n[^\n]*\n[^\n]*\n/)
    try {
      const url = /Latchkey is running at (\S+)/.exec(server.output())![1]!
      expect(await (await fetch(`${url}/api/v1/auth/signup`)).json()).toEqual({ allowed: false })
      expect(server.output()).not.toContain('/api/v1/auth/signup')
    } finally {
      await stop(server.child)
    }
  }, 60_000)

  it('says what it does while it starts, tells how to make the first owner, and admin create-owner makes one', async () => {
    const dataDir = join(temp, 'empty')
    const args = ['serve', '--port', '0', '--mqtt-port', '0', '--data-dir', dataDir]
    const first = await start(args, /No organization exists yet[\s\S]*signup[^\n]*\n[^\n]*\n/)
    await stop(first.child)
    const lines = first
      .output()
      .split('\n')
      .filter((l) => l.startsWith('latchkey:'))
    expect(lines).toEqual([
      `latchkey: creating the database in ${dataDir} (first start)`,
      `latchkey: database ready, migrations applied; master key created in ${join(dataDir, 'master.key')} (keep a copy)`,
      expect.stringMatching(/^latchkey: MQTT broker up at mqtt:\/\/127\.0\.0\.1:\d+ \(embedded\)$/),
      'latchkey: listening on 127.0.0.1:0',
    ])
    expect(first.output()).toContain(
      'latchkey admin create-owner --email you@example.com [--password P] [--organization "My company"]',
    )

    const made = await run([
      'admin',
      'create-owner',
      '--email',
      'Owner@Example.com',
      '--organization',
      'Beach houses',
      '--data-dir',
      dataDir,
    ])
    expect(made.code).toBe(0)
    const password = /Password: +(\S+) {3}\(shown once: keep it\)/.exec(made.stdout)?.[1]
    expect(made.stdout).toContain('Created the organization “Beach houses” and its owner.')
    expect(made.stdout).toContain('Email:        owner@example.com')
    expect(password).toMatch(/^[A-Za-z0-9_-]{16}$/)
    const again = await run(['admin', 'create-owner', '--email', 'owner@example.com', '--data-dir', dataDir])
    expect(again.code).toBe(1)
    expect(again.stderr).toContain('latchkey: an account with the email owner@example.com already exists')

    const second = await start(args, /Latchkey is running at (http:\S+)/)
    try {
      const url = /Latchkey is running at (http:\S+)/.exec(second.output())![1]
      expect(second.output()).not.toContain('No organization exists yet')
      expect(second.output()).toContain(`latchkey: opening the database in ${dataDir} and migrating it`)
      const login = await fetch(`${url}/api/v1/auth/login`, {
        method: 'POST',
        headers: { 'content-type': 'application/json' },
        body: JSON.stringify({ email: 'owner@example.com', password }),
      })
      expect(login.status).toBe(200)
    } finally {
      await stop(second.child)
    }
  }, 180_000)
})
