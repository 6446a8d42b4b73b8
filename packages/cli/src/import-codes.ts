/**
 * `latchkey import codes.csv --lock ID` (SPEC §10): the rows of a CSV (columns name, kind, code,
 * startsAt, endsAt, schedule (JSON), maxUses, delivery) sent to the API in batches, with a progress
 * bar (rate, time left) on a terminal and plain lines otherwise, then a report of each refused row
 * and why. Resolves to the exit status: 0 only when every row was taken.
 */
import { readFileSync } from 'node:fs'
import { SingleBar } from 'cli-progress'
import { parse } from 'csv-parse/sync'

export interface ImportOptions {
  file: string
  lockId: string
  server: string
  apiKey: string
  dryRun: boolean
  /** Where the report goes (default stdout). */
  write?: (line: string) => void
  /** A progress bar (a terminal) or plain lines. */
  tty?: boolean
  batchSize?: number
}

interface Refusal {
  line: number
  name: string
  message: string
}

/** One CSV record as the body of `POST /locks/{lockId}/access-codes` (empty cells left out). */
function toRow(record: Record<string, string>): Record<string, unknown> | string {
  const row: Record<string, unknown> = {}
  for (const [key, raw] of Object.entries(record)) {
    const value = raw.trim()
    if (value === '') continue
    if (key === 'maxUses') row.maxUses = /^\d+$/.test(value) ? Number(value) : value
    else if (key === 'schedule') {
      try {
        row.schedule = JSON.parse(value)
      } catch {
        return 'the schedule is not valid JSON'
      }
    } else row[key] = value
  }
  return row
}

export async function runImport(options: ImportOptions): Promise<number> {
  const write = options.write ?? ((line: string) => process.stdout.write(`${line}\n`))
  const records = parse(readFileSync(options.file, 'utf8'), {
    columns: true,
    skip_empty_lines: true,
    bom: true,
    trim: false,
  }) as Record<string, string>[]
  const total = records.length
  const batchSize = options.batchSize ?? 50
  const refusals: Refusal[] = []
  let created = 0
  const bar = options.tty
    ? new SingleBar({
        format:
          'importing [{bar}] {value}/{total} rows | {rate} rows/s | {eta_formatted} left | {refused} refused',
        etaBuffer: 200,
      })
    : null
  const started = Date.now()
  bar?.start(total, 0, { rate: '0', refused: 0 })
  for (let first = 0; first < total; first += batchSize) {
    const batch = records.slice(first, first + batchSize)
    const rows = batch.map(toRow)
    const sendable = rows.flatMap((row, i) => (typeof row === 'string' ? [] : [{ i, row }]))
    for (const [i, row] of rows.entries())
      if (typeof row === 'string')
        refusals.push({ line: first + i + 2, name: batch[i]!.name ?? '', message: row })
    if (sendable.length > 0) {
      const response = await fetch(
        `${options.server.replace(/\/$/, '')}/api/v1/locks/${encodeURIComponent(options.lockId)}/access-codes/import`,
        {
          method: 'POST',
          headers: { authorization: `Bearer ${options.apiKey}`, 'content-type': 'application/json' },
          body: JSON.stringify({ rows: sendable.map((s) => s.row), dryRun: options.dryRun }),
        },
      )
      const body = (await response.json()) as {
        detail?: string
        items?: Array<{ row: number; status: string; error?: { message: string } }>
      }
      if (!response.ok || body.items === undefined) {
        bar?.stop()
        write(`The server refused the import: ${body.detail ?? `HTTP ${response.status}`}`)
        return 2
      }
      for (const item of body.items) {
        const at = sendable[item.row]!.i
        if (item.status === 'created') created++
        else
          refusals.push({
            line: first + at + 2,
            name: batch[at]!.name ?? '',
            message: item.error?.message ?? 'refused',
          })
      }
    }
    const done = Math.min(first + batchSize, total)
    const seconds = (Date.now() - started) / 1000
    if (bar)
      bar.update(done, { rate: (done / Math.max(seconds, 0.001)).toFixed(0), refused: refusals.length })
    else write(`${done}/${total} rows sent, ${refusals.length} refused`)
  }
  bar?.stop()
  refusals.sort((a, b) => a.line - b.line)
  write(
    `${options.dryRun ? 'Dry run: ' : ''}${created} of ${total} rows ${options.dryRun ? 'would be created' : 'created'}, ${refusals.length} refused.`,
  )
  for (const r of refusals) write(`  line ${r.line} (${r.name || 'no name'}): ${r.message}`)
  return refusals.length === 0 ? 0 : 1
}
