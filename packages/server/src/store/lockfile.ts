/**
 * One owner per data directory. PGlite has no lock between processes: a second process on the
 * same directory would silently lose writes. `<dataDir>/LOCK` holds the owner's pid; it is created
 * exclusively (a hard link of a fully written file: `link()` fails with EEXIST like O_EXCL, and the
 * lock never exists without its pid). A lock whose pid is no longer alive is taken over.
 */
import { randomBytes } from 'node:crypto'
import { linkSync, readFileSync, renameSync, unlinkSync, writeFileSync } from 'node:fs'
import { join, resolve } from 'node:path'
import { LatchkeyError } from '@latchkey/core'

/** Directories locked by this process (a pid equal to ours in a file we did not write is stale: a reused pid). */
const heldByThisProcess = new Set<string>()

export interface DataDirLock {
  readonly path: string
  release(): void
}

export function acquireDataDirLock(dataDir: string): DataDirLock {
  const dir = resolve(dataDir)
  const path = join(dir, 'LOCK')
  if (heldByThisProcess.has(dir)) throw inUse(dir, process.pid)
  for (let attempt = 0; attempt < 5; attempt++) {
    if (tryCreate(path)) {
      heldByThisProcess.add(dir)
      return { path, release: () => release(dir, path) }
    }
    const holder = readPid(path)
    if (holder === 'missing') continue
    if (holder !== 'unreadable' && isAlive(holder)) throw inUse(dir, holder)
    takeOverStale(dir, path, holder)
  }
  throw new LatchkeyError('service_unavailable', `could not take the lock of data directory ${dir}`)
}

function tryCreate(path: string): boolean {
  const temp = `${path}.${process.pid}.${randomBytes(4).toString('hex')}`
  writeFileSync(temp, `${process.pid}\n`, { flag: 'wx' })
  try {
    linkSync(temp, path)
    return true
  } catch (error) {
    if (errno(error) === 'EEXIST') return false
    throw error
  } finally {
    unlinkSync(temp)
  }
}

/**
 * Moves the stale lock aside atomically, then checks that what was moved is still the stale one
 * (another process may have taken over in between: its live lock is put back).
 */
function takeOverStale(dir: string, path: string, stale: number | 'unreadable'): void {
  const aside = `${path}.stale.${process.pid}.${randomBytes(4).toString('hex')}`
  try {
    renameSync(path, aside)
  } catch (error) {
    if (errno(error) === 'ENOENT') return
    throw error
  }
  const moved = readPid(aside)
  if (typeof moved === 'number' && moved !== stale && isAlive(moved)) {
    try {
      linkSync(aside, path)
    } catch {
      // someone created a new lock meanwhile; theirs stands
    }
    unlinkSync(aside)
    throw inUse(dir, moved)
  }
  unlinkSync(aside)
}

function release(dir: string, path: string): void {
  if (!heldByThisProcess.delete(dir)) return
  if (readPid(path) !== process.pid) return
  try {
    unlinkSync(path)
  } catch (error) {
    if (errno(error) !== 'ENOENT') throw error
  }
}

function readPid(path: string): number | 'missing' | 'unreadable' {
  let text: string
  try {
    text = readFileSync(path, 'utf8')
  } catch (error) {
    if (errno(error) === 'ENOENT') return 'missing'
    throw error
  }
  const pid = Number(text.trim())
  return Number.isSafeInteger(pid) && pid > 0 ? pid : 'unreadable'
}

function isAlive(pid: number): boolean {
  // Our own pid in a lock of a directory we do not hold: left by an earlier process that had the same pid.
  if (pid === process.pid) return false
  try {
    process.kill(pid, 0)
    return true
  } catch (error) {
    return errno(error) === 'EPERM'
  }
}

function inUse(dir: string, pid: number): LatchkeyError {
  return new LatchkeyError('service_unavailable', `data directory ${dir} is in use by process ${pid}`)
}

function errno(error: unknown): string | undefined {
  return (error as NodeJS.ErrnoException | undefined)?.code
}
