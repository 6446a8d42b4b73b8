import { readFileSync } from 'node:fs'
import { describe, expect, it } from 'vitest'
import { ERROR_CODES, ERROR_STATUS, isLatchkeyError, LatchkeyError } from './errors.ts'

const ERRORS_DOC = new URL('../../../docs/ERRORS.md', import.meta.url)

/** The rows of docs/ERRORS.md's table: | `code` | status | meaning |. */
function documentedCodes(): { code: string; status: number; meaning: string }[] {
  const rows: { code: string; status: number; meaning: string }[] = []
  for (const line of readFileSync(ERRORS_DOC, 'utf8').split('\n')) {
    const cells = line.split('|').map((cell) => cell.trim())
    // A table row has an empty cell before the first and after the last pipe.
    if (cells.length < 5 || cells[0] !== '' || cells.at(-1) !== '') continue
    const code = /^`([a-z_]+)`$/.exec(cells[1]!)?.[1]
    if (!code) continue // header and separator rows
    rows.push({ code, status: Number(cells[2]), meaning: cells.slice(3, -1).join('|') })
  }
  return rows
}

describe('docs/ERRORS.md', () => {
  const rows = documentedCodes()

  it('documents every error code once, with the status the API answers', () => {
    const documented = new Map(rows.map((row) => [row.code, row.status]))
    expect(rows.map((row) => row.code).filter((code, i, all) => all.indexOf(code) !== i)).toEqual([])
    expect(ERROR_CODES.filter((code) => !documented.has(code))).toEqual([])
    expect([...documented.keys()].filter((code) => !(code in ERROR_STATUS))).toEqual([])
    for (const code of ERROR_CODES)
      expect({ code, status: documented.get(code) }).toEqual({ code, status: ERROR_STATUS[code] })
  })

  it('says what each code means', () => {
    for (const row of rows) expect(row.meaning.length, row.code).toBeGreaterThan(20)
  })

  it('lists the SPEC §3 lock errors and the SPEC §8 route errors', () => {
    const codes = rows.map((row) => row.code)
    for (const code of [
      'lock_full',
      'lock_offline',
      'duplicate_code_on_lock',
      'lock_clock_not_set',
      'failed_to_set',
      'failed_to_remove',
      'unique_codes_disabled',
      'expiry_too_far',
      'level_not_allowed',
      'invalid_code',
      'code_bound_to_other_device',
    ]) {
      expect(codes).toContain(code)
    }
  })
})

describe('LatchkeyError', () => {
  it('takes its status from the table unless told otherwise', () => {
    const error = new LatchkeyError('expiry_too_far', 'six months at most')
    expect([error.name, error.code, error.status, error.message, error.userMessage]).toEqual([
      'LatchkeyError',
      'expiry_too_far',
      422,
      'six months at most',
      'six months at most',
    ])
    expect(error).toBeInstanceOf(Error)
    const overridden = new LatchkeyError('conflict', 'busy', {
      status: 423,
      userMessage: 'Try again',
      details: { a: 1 },
    })
    expect([overridden.status, overridden.userMessage, overridden.details]).toEqual([
      423,
      'Try again',
      { a: 1 },
    ])
  })

  it('keeps the cause and is recognised by code', () => {
    const cause = new Error('socket closed')
    const error = new LatchkeyError('service_unavailable', 'database unreachable', { cause })
    expect(error.cause).toBe(cause)
    expect(isLatchkeyError(error)).toBe(true)
    expect(isLatchkeyError(error, 'service_unavailable')).toBe(true)
    expect(isLatchkeyError(error, 'internal')).toBe(false)
    expect(isLatchkeyError(cause)).toBe(false)
    expect(isLatchkeyError({ code: 'internal', status: 500 })).toBe(false)
  })
})
