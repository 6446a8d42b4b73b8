/**
 * The lock's flash: `<stateDir>/<lockId>.json`, replaced atomically after every change
 * (`writeFileAtomic`), so a crash leaves either the old state or the new one, never half of one.
 */
import { mkdirSync, readFileSync } from 'node:fs'
import { join } from 'node:path'
import { LatchkeyError } from '@latchkey/core'
import { writeFileAtomic } from './atomic-file.ts'
import { type LockState, parseState } from './state.ts'

export class Flash {
  readonly path: string

  constructor(stateDir: string, lockId: string) {
    mkdirSync(stateDir, { recursive: true })
    this.path = join(stateDir, `${lockId}.json`)
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
    writeFileAtomic(this.path, JSON.stringify(state))
  }
}
