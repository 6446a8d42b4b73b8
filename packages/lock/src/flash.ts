/**
 * The lock's flash: `<stateDir>/<lockId>.json`, replaced atomically after every change (write a
 * temporary file, fsync it, rename it over the old one, fsync the directory), so a crash leaves
 * either the old state or the new one, never half of one.
 */
import { closeSync, fsyncSync, mkdirSync, openSync, readFileSync, renameSync, writeSync } from 'node:fs'
import { join } from 'node:path'
import { LatchkeyError } from '@latchkey/core'
import { type LockState, parseState } from './state.ts'

export class Flash {
  readonly path: string
  readonly #dir: string
  readonly #tmp: string

  constructor(stateDir: string, lockId: string) {
    mkdirSync(stateDir, { recursive: true })
    this.#dir = stateDir
    this.path = join(stateDir, `${lockId}.json`)
    this.#tmp = join(stateDir, `.${lockId}.json.${process.pid}.tmp`)
  }

  /** The stored state, or null when this lock has none yet. */
  read(): LockState | null {
    let text: string
    try {
      text = readFileSync(this.path, 'utf8')
    } catch (cause) {
      if ((cause as NodeJS.ErrnoException).code === 'ENOENT') return null
      throw new LatchkeyError('internal', `cannot read lock state ${this.path}`, { cause })
    }
    let json: unknown
    try {
      json = JSON.parse(text)
    } catch (cause) {
      throw new LatchkeyError('internal', `lock state ${this.path} is not JSON`, { cause })
    }
    return parseState(json)
  }

  write(state: LockState): void {
    const fd = openSync(this.#tmp, 'w', 0o600)
    try {
      writeSync(fd, JSON.stringify(state))
      fsyncSync(fd)
    } finally {
      closeSync(fd)
    }
    renameSync(this.#tmp, this.path)
    const dir = openSync(this.#dir, 'r')
    try {
      fsyncSync(dir)
    } finally {
      closeSync(dir)
    }
  }
}
