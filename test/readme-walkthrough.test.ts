/**
 * The README's walkthroughs, run as written: the demo started as `npm start` starts it (on a free
 * port, in a temporary data directory), then every `sh` block of the "Walkthroughs" section in order,
 * in one bash, with BASE pointing at the demo. Each `# → answer` line is checked against what the
 * command before it printed: a JSON object must be contained in the answer, anything else must equal it.
 * So the README cannot drift from what a user sees.
 */
import { type ChildProcess, spawn, spawnSync } from 'node:child_process'
import { mkdtempSync, readFileSync, rmSync } from 'node:fs'
import { tmpdir } from 'node:os'
import { join } from 'node:path'
import { afterAll, describe, expect, it } from 'vitest'
import { REPO_ROOT } from './harness.ts'

const SECTION = '## Walkthroughs'

interface Step {
  command: string
  expected?: string
}

/** The `sh` blocks of the section, as commands (a line ending in `\` goes on) and their answers. */
function walkthroughBlocks(readme: string): Step[][] {
  const start = readme.indexOf(`\n${SECTION}`)
  if (start < 0) throw new Error(`the README has no “${SECTION}” section`)
  const end = readme.indexOf('\n## ', start + 1)
  const section = readme.slice(start, end < 0 ? undefined : end)
  return [...section.matchAll(/```sh\n([\s\S]*?)```/g)].map((block) => {
    const steps: Step[] = []
    let pending = ''
    for (const line of block[1]!.split('\n')) {
      const answer = /^# → (.*)$/.exec(line)
      if (answer) {
        const last = steps.at(-1)
        if (last === undefined) throw new Error(`an answer with no command before it: ${line}`)
        last.expected = answer[1]!
        continue
      }
      if (line.trim() === '' || line.startsWith('#')) continue
      pending += pending ? `\n${line}` : line
      if (line.endsWith('\\')) continue
      steps.push({ command: pending })
      pending = ''
    }
    return steps
  })
}

const dataDir = mkdtempSync(join(tmpdir(), 'latchkey-readme-'))
let demo: ChildProcess | undefined
afterAll(async () => {
  if (demo?.pid !== undefined && demo.exitCode === null) {
    const exited = new Promise((r) => demo!.once('exit', r))
    process.kill(-demo.pid, 'SIGTERM')
    await exited
  }
  rmSync(dataDir, { recursive: true, force: true })
})

/** `npm start` with the environment the README's first block gives it; answers the demo's URL. */
function startDemo(startLine: string): Promise<string> {
  const assignments = [...startLine.matchAll(/([A-Z_]+)='([^']*)'/g)].map((m) => [m[1]!, m[2]!] as const)
  expect(startLine).toMatch(/ npm start$/)
  const env: Record<string, string | undefined> = {
    ...process.env,
    ...Object.fromEntries(assignments),
    LATCHKEY_DEMO_TIMEZONE: 'Australia/Sydney',
  }
  delete env.LATCHKEY_MASTER_KEY
  delete env.DATABASE_URL
  delete env.MQTT_URL
  return new Promise((resolve, reject) => {
    const child = spawn('npm', ['start', '--', '--port', '0', '--mqtt-port', '0', '--data-dir', dataDir], {
      cwd: REPO_ROOT,
      env,
      detached: true,
      stdio: ['ignore', 'pipe', 'pipe'],
    })
    demo = child
    let out = ''
    const onData = (d: Buffer) => {
      out += d
      const url = /Latchkey is running at (http:\S+)/.exec(out)?.[1]
      if (url && /locks online/.test(out)) resolve(url)
    }
    child.stdout!.on('data', onData)
    child.stderr!.on('data', onData)
    child.once('exit', (code) => reject(new Error(`npm start exited with ${code}:\n${out}`)))
  })
}

describe('the README walkthroughs', () => {
  it('run as written against the demo, and every answer shown is the answer given', async () => {
    const readme = readFileSync(join(REPO_ROOT, 'README.md'), 'utf8')
    const [startBlock, ...blocks] = walkthroughBlocks(readme)
    expect(startBlock).toHaveLength(1)
    const base = await startDemo(startBlock![0]!.command)

    const steps = blocks.flat()
    const script = ['set -euo pipefail']
    steps.forEach((step, i) => {
      if (step.expected === undefined) script.push(step.command)
      else script.push(`echo "@@BEGIN ${i}"`, step.command, 'echo', `echo "@@END ${i}"`)
    })
    const ran = spawnSync('bash', ['-c', script.join('\n')], {
      cwd: REPO_ROOT,
      env: { ...process.env, BASE: base },
      encoding: 'utf8',
      timeout: 200_000,
    })
    expect(ran.stderr, ran.stdout).toBe('')
    expect(ran.status).toBe(0)

    let checked = 0
    steps.forEach((step, i) => {
      if (step.expected === undefined) return
      const answer = new RegExp(`@@BEGIN ${i}\\n([\\s\\S]*?)\\n@@END ${i}\\n`).exec(ran.stdout)?.[1]?.trim()
      expect(answer, `no answer to: ${step.command}`).toBeDefined()
      let expected: unknown
      try {
        expected = JSON.parse(step.expected)
      } catch {
        expected = undefined
      }
      if (expected !== null && typeof expected === 'object') {
        expect(JSON.parse(answer!), step.command).toMatchObject(expected as object)
      } else {
        expect(answer, step.command).toBe(step.expected)
      }
      checked++
    })
    expect(checked).toBeGreaterThanOrEqual(20)
  }, 240_000)
})
