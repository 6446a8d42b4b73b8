/**
 * For fault tests against a real PostgreSQL: a private PostgreSQL 15 server of its own (initdb in a
 * temporary directory, a free loopback port, trust authentication), never the one on 5432, so it
 * can be stopped and restarted mid-test. Run as root (a CI machine), the server runs as the
 * `postgres` user, as PostgreSQL requires.
 */
import { execFile, execFileSync } from 'node:child_process'
import { chmodSync, chownSync, existsSync, mkdtempSync, rmSync } from 'node:fs'
import { tmpdir } from 'node:os'
import { join } from 'node:path'
import { promisify } from 'node:util'
import { freeTcpPort, sleep } from './harness.ts'

const run = promisify(execFile)

/** Where Debian puts PostgreSQL 15's programs. */
export const PG_BIN = '/usr/lib/postgresql/15/bin'

export interface PrivatePostgres {
  /** `postgres://postgres@127.0.0.1:port/latchkey` */
  readonly databaseUrl: string
  readonly port: number
  /** `pg_ctl stop -m immediate`: gone at once, as a crash; its files stay. */
  crash(): Promise<void>
  /** Starts it again on the same port and files (it recovers from its WAL). */
  start(): Promise<void>
  /** Stops it and removes its directory. */
  remove(): Promise<void>
}

export const privatePostgresAvailable = (): boolean => existsSync(join(PG_BIN, 'initdb'))

export async function startPrivatePostgres(): Promise<PrivatePostgres> {
  const dir = mkdtempSync(join(tmpdir(), 'latchkey-pg-'))
  const dataDir = join(dir, 'data')
  const root = process.getuid?.() === 0
  if (root) {
    chownSync(dir, uidOf('postgres'), gidOf('postgres'))
    chmodSync(dir, 0o700)
  }
  /** A PostgreSQL program, as the postgres user when this process is root. */
  const pg = (program: string, args: string[]) =>
    root
      ? run('runuser', ['-u', 'postgres', '--', join(PG_BIN, program), ...args], { cwd: dir })
      : run(join(PG_BIN, program), args, { cwd: dir })
  const port = await freeTcpPort()
  await pg('initdb', ['-D', dataDir, '-U', 'postgres', '--auth=trust', '--no-sync', '-E', 'UTF8'])
  const options = `-p ${port} -k ${dir} -c listen_addresses=127.0.0.1 -c fsync=on -c max_connections=200`
  const start = async () => {
    await pg('pg_ctl', ['-D', dataDir, '-o', options, '-l', join(dir, 'log'), '-w', '-t', '60', 'start'])
  }
  await start()
  await pg('createdb', ['-h', '127.0.0.1', '-p', String(port), '-U', 'postgres', 'latchkey'])
  return {
    databaseUrl: `postgres://postgres@127.0.0.1:${port}/latchkey`,
    port,
    async crash() {
      await pg('pg_ctl', ['-D', dataDir, '-m', 'immediate', '-w', 'stop'])
    },
    start,
    async remove() {
      await pg('pg_ctl', ['-D', dataDir, '-m', 'immediate', '-w', 'stop']).catch(() => {})
      // the postmaster may take a moment to release its files
      await sleep(100)
      rmSync(dir, { recursive: true, force: true })
    },
  }
}

function idOf(flag: '-u' | '-g', user: string): number {
  return Number(execFileSync('id', [flag, user], { encoding: 'utf8' }).trim())
}
const uidOf = (user: string) => idOf('-u', user)
const gidOf = (user: string) => idOf('-g', user)
