import { mkdtempSync, rmSync, writeFileSync } from 'node:fs'
import { tmpdir } from 'node:os'
import { join } from 'node:path'
import { weakPinReason } from '@latchkey/core'
import { afterAll, beforeAll, describe, expect, it } from 'vitest'
import { addLock, type Fixture, setup } from '../../server/src/reconciler/test-setup.ts'
import { runImport } from './import-codes.ts'

let f: Fixture
let url: string
let lockId: string
let dir: string
beforeAll(async () => {
  f = await setup()
  lockId = (await addLock(f)).id
  url = await f.app.listen({ port: 0, host: '127.0.0.1' })
  dir = mkdtempSync(join(tmpdir(), 'latchkey-import-'))
})
afterAll(async () => {
  await f.close()
  rmSync(dir, { recursive: true, force: true })
})

const token = () => f.owner.headers.authorization!.replace(/^Bearer /, '')

/** 1,000 distinct PINs that are not weak (no run, repetition or date). */
const PINS: string[] = []
for (let candidate = 304_817; PINS.length < 1000; candidate += 7_919) {
  const pin = String((candidate % 900_000) + 100_000)
  if (weakPinReason(pin) === null && !PINS.includes(pin)) PINS.push(pin)
}

/** 1,000 rows of permanent codes, four of them bad on purpose. */
function csv(): string {
  const lines = ['name,kind,code,startsAt,endsAt,schedule,maxUses,delivery']
  for (let n = 0; n < 1000; n++) {
    const pin = PINS[n]!
    if (n === 10) lines.push(`Weak ${n},permanent,111111,,,,,synced`)
    else if (n === 250) lines.push(`Odd kind ${n},sometimes,,,,,,`)
    else if (n === 500) lines.push(`"Backwards, ${n}",timed,,2030-01-02T00:00:00Z,2030-01-01T00:00:00Z,,,`)
    else if (n === 999) lines.push(`Same PIN ${n},permanent,${PINS[0]},,,,,synced`)
    else lines.push(`Guest ${n},permanent,${pin},,,,,synced`)
  }
  return `${lines.join('\n')}\n`
}

describe('latchkey import', () => {
  it('dry run: checks all 1,000 rows, reports the bad ones, creates nothing', async () => {
    const file = join(dir, 'codes.csv')
    writeFileSync(file, csv())
    const out: string[] = []
    const status = await runImport({
      file,
      lockId,
      server: url,
      apiKey: token(),
      dryRun: true,
      tty: false,
      write: (line) => out.push(line),
    })
    expect(status).toBe(1)
    expect(out).toContain('Dry run: 997 of 1000 rows would be created, 3 refused.') // a dry run takes each row alone: the repeated PIN passes
    const list = await f.app.inject({
      method: 'GET',
      url: `/api/v1/locks/${lockId}/access-codes`,
      headers: f.owner.headers,
    })
    expect(list.json().items).toEqual([])
  }, 300_000)

  it('creates every good row, prints progress lines and each refused row with its reason, exits 1', async () => {
    const file = join(dir, 'codes.csv')
    writeFileSync(file, csv())
    const out: string[] = []
    const status = await runImport({
      file,
      lockId,
      server: url,
      apiKey: token(),
      dryRun: false,
      tty: false,
      write: (line) => out.push(line),
    })
    expect(status).toBe(1)
    expect(out[0]).toBe('50/1000 rows sent, 1 refused') // row 10 is weak
    expect(out).toContain('1000/1000 rows sent, 4 refused')
    const report = out.slice(out.indexOf('996 of 1000 rows created, 4 refused.'))
    expect(report).toHaveLength(5)
    expect(report[1]).toMatch(/^ {2}line 12 \(Weak 10\): /)
    expect(report[2]).toMatch(/^ {2}line 252 \(Odd kind 250\): kind/)
    expect(report[3]).toMatch(/^ {2}line 502 \(Backwards, 500\): /)
    expect(report[4]).toMatch(/^ {2}line 1001 \(Same PIN 999\): this PIN is already in use on the lock/)
    for (const line of report.slice(1))
      expect(line).not.toMatch(/weak_pin|invalid_window|duplicate_code_on_lock/)
  }, 300_000)
})
