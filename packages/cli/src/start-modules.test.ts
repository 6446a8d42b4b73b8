/**
 * What `latchkey serve` loads to start: the packages it resolves, recorded by a module-resolution
 * hook in the process itself. A start on the embedded store, with no Matter lock, loads neither
 * matter.js (seconds of every start) nor the PostgreSQL client, the iCal parser or the CSV import.
 */
import { type ChildProcess, spawn } from 'node:child_process'
import { mkdtempSync, readFileSync, rmSync, writeFileSync } from 'node:fs'
import { tmpdir } from 'node:os'
import { dirname, join } from 'node:path'
import { fileURLToPath, pathToFileURL } from 'node:url'
import { afterAll, expect, it } from 'vitest'
import { ENVIRONMENT } from './environment.ts'

const BIN = join(dirname(fileURLToPath(import.meta.url)), '../bin/latchkey.js')
const temp = mkdtempSync(join(tmpdir(), 'latchkey-start-modules-'))
afterAll(() => rmSync(temp, { recursive: true, force: true }))

const RESOLVED = join(temp, 'resolved.txt')
// The hook runs in the loader's own thread: it appends every bare specifier it resolves to a file.
const HOOKS = join(temp, 'hooks.mjs')
writeFileSync(
  HOOKS,
  `import { appendFileSync } from 'node:fs'
export async function resolve(specifier, context, next) {
  if (!/^(node:|\\.|\\/|file:|data:)/.test(specifier)) appendFileSync(${JSON.stringify(RESOLVED)}, specifier + '\\n')
  return next(specifier, context)
}
`,
)
const REGISTER = join(temp, 'register.mjs')
writeFileSync(
  REGISTER,
  `import { register } from 'node:module'\nregister(${JSON.stringify(pathToFileURL(HOOKS).href)})\n`,
)

function startServe(dataDir: string): Promise<ChildProcess> {
  const env: Record<string, string | undefined> = { ...process.env, LOG_LEVEL: 'warn' }
  for (const name of Object.keys(ENVIRONMENT)) if (name !== 'LOG_LEVEL') delete env[name]
  const args = ['serve', '--port', '0', '--mqtt-port', '0', '--data-dir', dataDir]
  return new Promise((resolve, reject) => {
    const child = spawn(process.execPath, ['--import', REGISTER, BIN, ...args], {
      env,
      stdio: ['ignore', 'pipe', 'pipe'],
    })
    let out = ''
    const onData = (d: Buffer) => {
      out += d
      if (/Latchkey is running at/.test(out)) resolve(child)
    }
    child.stdout.on('data', onData)
    child.stderr.on('data', onData)
    child.on('exit', (code) => reject(new Error(`exited with ${code} before it was ready:\n${out}`)))
  })
}

it('starts on the embedded store without loading matter.js, pg, node-ical or the CSV import', async () => {
  const child = await startServe(join(temp, 'data'))
  child.removeAllListeners('exit')
  await new Promise<void>((resolve) => {
    child.on('exit', () => resolve())
    child.kill('SIGTERM')
  })
  const resolved = new Set(readFileSync(RESOLVED, 'utf8').trim().split('\n'))
  // what a start needs was recorded: the hook saw the server's packages
  expect([...resolved]).toEqual(expect.arrayContaining(['fastify', 'aedes', '@electric-sql/pglite']))
  const notNeeded = [...resolved].filter((specifier) =>
    /^(@matter\/|@project-chip\/|pg$|drizzle-orm\/node-postgres|node-ical$|csv-parse|cli-progress$)/.test(
      specifier,
    ),
  )
  expect(notNeeded).toEqual([])
}, 60_000)
