/**
 * The functions with the most self time in a `node --cpu-prof` profile of `latchkey serve`, within a
 * window of the monotonic clock (µs, as process.hrtime), each placed in its source file by the
 * bundle's `// ../server/src/….ts` comments.
 */
import { readFileSync } from 'node:fs'
import { join, resolve } from 'node:path'
import { fileURLToPath } from 'node:url'

const BUNDLE = join(resolve(fileURLToPath(new URL('..', import.meta.url))), 'packages/cli/dist/latchkey.js')
const TOP = 15

interface ProfileNode {
  id: number
  callFrame: { functionName: string; url: string; lineNumber: number }
}

export interface CpuProfile {
  nodes: ProfileNode[]
  startTime: number
  samples: number[]
  timeDeltas: number[]
}

function bundleFiles(): { line: number; file: string }[] {
  const marks: { line: number; file: string }[] = []
  readFileSync(BUNDLE, 'utf8')
    .split('\n')
    .forEach((text, line) => {
      const match = /^\/\/ (\S+\.ts)$/.exec(text)
      if (match) marks.push({ line, file: match[1]!.replace(/^\.\.\//, '') })
    })
  return marks
}

function placeOf(marks: { line: number; file: string }[], frame: ProfileNode['callFrame']): string {
  if (!frame.url.endsWith('dist/latchkey.js'))
    return frame.url.replace(/^.*node_modules\//, '').replace(/^file:\/\//, '') || 'native'
  let file = 'bundle'
  for (const mark of marks) {
    if (mark.line > frame.lineNumber) break
    file = mark.file
  }
  return file.replace(/^node_modules\//, '')
}

/** "12.3 % name file; …" over the busy samples of the window, and the busy share of the window. */
export function profileTop(profile: CpuProfile, window: { from: bigint; to: bigint }): string {
  const marks = bundleFiles()
  const byId = new Map(profile.nodes.map((n) => [n.id, n]))
  const self = new Map<string, number>()
  const byFile = new Map<string, number>()
  let busy = 0
  let all = 0
  let at = profile.startTime
  profile.samples.forEach((id, i) => {
    const dt = profile.timeDeltas[i] ?? 0
    at += dt
    if (BigInt(at) < window.from || BigInt(at) > window.to) return
    all += dt
    const frame = byId.get(id)!.callFrame
    if (frame.functionName === '(idle)') return
    busy += dt
    const place = placeOf(marks, frame)
    const label = `${frame.functionName || '(anonymous)'} ${place}`
    self.set(label, (self.get(label) ?? 0) + dt)
    const file = place.replace(/\/[^/]*$/, '')
    byFile.set(file, (byFile.get(file) ?? 0) + dt)
  })
  const share = (t: number) => `${((t / busy) * 100).toFixed(1)} %`
  const top = [...self.entries()].sort((a, b) => b[1] - a[1]).slice(0, TOP)
  const dirs = [...byFile.entries()].sort((a, b) => b[1] - a[1]).slice(0, 8)
  return [
    `busy ${((busy / Math.max(all, 1)) * 100).toFixed(0)} % of the window`,
    `by folder: ${dirs.map(([f, t]) => `${share(t)} ${f}`).join(', ')}`,
    `functions: ${top.map(([l, t]) => `${share(t)} ${l}`).join('; ')}`,
  ].join(' — ')
}

/**
 * Samples what the server's connections are doing (pg_stat_activity of one database) every
 * `intervalMs` until stopped: the share of samples per statement (its first words) and state.
 */
export function sampleActivity(
  query: (sql: string) => Promise<{ rows: { state: string | null; query: string; wait: string | null }[] }>,
  database: string,
  intervalMs = 20,
): { stop(): Promise<string> } {
  const counts = new Map<string, number>()
  let samples = 0
  let stopped = false
  const loop = (async () => {
    for (let i = 0; i < 100_000 && !stopped; i++) {
      const { rows } = await query(
        `select state, left(regexp_replace(query, '\\s+', ' ', 'g'), 90) as query, wait_event as wait
         from pg_stat_activity where datname = '${database}' and pid <> pg_backend_pid()
         and application_name not like 'bench%'`,
      )
      samples += 1
      for (const row of rows) {
        const key = `${row.state ?? '?'}${row.wait ? `/${row.wait}` : ''}: ${row.query}`
        counts.set(key, (counts.get(key) ?? 0) + 1)
      }
      await new Promise((r) => setTimeout(r, intervalMs))
    }
  })()
  return {
    async stop() {
      stopped = true
      await loop
      return [...counts.entries()]
        .filter(([key]) => !key.startsWith('idle:'))
        .sort((a, b) => b[1] - a[1])
        .slice(0, 15)
        .map(([key, n]) => `${(n / samples).toFixed(2)} ${key}`)
        .join('\n')
    },
  }
}
