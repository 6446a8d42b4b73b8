/**
 * The floor of `bench/api.bench.ts`: a bare fastify app on the same kind of store that answers the
 * benchmarked routes by issuing the SQL the Latchkey route issued for the same request (recorded by
 * the bench from the server's own drizzle queries: the credential lookup, the reads, the transaction
 * of a create), with nothing else: no auth hook, no validation, no view, fastify's plain JSON
 * serializer. For a create, the recorded lock id is replaced by the request's and the recorded code
 * id by a new one.
 *
 * `node --import tsx bench/api-floor.ts <recording.json>`, with DATABASE_URL (PostgreSQL) or
 * FLOOR_PGLITE_DIR (a PGlite data directory of its own); prints `floor listening at <url>`.
 */
import { randomUUID } from 'node:crypto'
import { readFileSync } from 'node:fs'
import { PGlite } from '@electric-sql/pglite'
import Fastify from 'fastify'
import pg from 'pg'

/** One statement as drizzle sent it, or the edge of a transaction. */
export type RecordedStep = { sql: string; params: unknown[] } | 'begin' | 'commit'

export interface RecordedRoute {
  method: 'GET' | 'POST'
  /** The fastify route pattern. */
  pattern: string
  steps: RecordedStep[]
  /** Values of the recorded request replaced on replay: the lock of the URL, the code created. */
  lockId: string
  createdId?: string
}

export type Recording = Record<string, RecordedRoute>

interface Runner {
  /** Runs `steps` (a transaction between 'begin' and 'commit' on one connection); answers each result's rows. */
  run(steps: RecordedStep[]): Promise<unknown[][]>
  close(): Promise<void>
}

function pgliteRunner(db: PGlite): Runner {
  return {
    async run(steps) {
      const out: unknown[][] = []
      let i = 0
      while (i < steps.length) {
        const step = steps[i]!
        if (step === 'begin') {
          const end = steps.indexOf('commit', i)
          const inside = steps.slice(i + 1, end)
          await db.transaction(async (tx) => {
            for (const s of inside)
              if (typeof s !== 'string')
                out.push((await tx.query(s.sql, s.params, { rowMode: 'array' })).rows as unknown[])
          })
          i = end + 1
          continue
        }
        if (step !== 'commit')
          out.push((await db.query(step.sql, step.params, { rowMode: 'array' })).rows as unknown[])
        i++
      }
      return out
    },
    close: () => db.close(),
  }
}

function postgresRunner(pool: pg.Pool): Runner {
  const query = async (client: pg.Pool | pg.PoolClient, s: { sql: string; params: unknown[] }) =>
    (await client.query({ text: s.sql, values: s.params, rowMode: 'array' })).rows as unknown[]
  return {
    async run(steps) {
      const out: unknown[][] = []
      let client: pg.PoolClient | null = null
      try {
        for (const step of steps) {
          if (step === 'begin') {
            client = await pool.connect()
            await client.query('begin')
          } else if (step === 'commit') {
            if (client !== null) {
              await client.query('commit')
              client.release()
              client = null
            }
          } else out.push(await query(client ?? pool, step))
        }
      } catch (error) {
        if (client !== null) {
          await client.query('rollback').catch(() => {})
          client.release()
        }
        throw error
      }
      return out
    },
    close: () => pool.end(),
  }
}

/** The recorded steps with the request's values in place of the recorded ones. */
function substitute(steps: RecordedStep[], replace: Map<string, string>): RecordedStep[] {
  const swap = (value: unknown): unknown => {
    if (typeof value !== 'string') return value
    let out = value
    for (const [from, to] of replace) out = out.replaceAll(from, to)
    return out
  }
  return steps.map((step) =>
    typeof step === 'string' ? step : { sql: step.sql, params: step.params.map(swap) },
  )
}

async function main() {
  const recording = JSON.parse(readFileSync(process.argv[2]!, 'utf8')) as Recording
  const runner =
    process.env.DATABASE_URL !== undefined
      ? postgresRunner(new pg.Pool({ connectionString: process.env.DATABASE_URL, max: 10 }))
      : pgliteRunner(await PGlite.create({ dataDir: process.env.FLOOR_PGLITE_DIR! }))
  const app = Fastify({ logger: false })
  for (const route of Object.values(recording)) {
    app.route({
      method: route.method,
      url: route.pattern,
      handler: async (request, reply) => {
        const params = request.params as Record<string, string>
        const lockId = params.lockId ?? params.id ?? route.lockId
        const replace = new Map([[route.lockId, lockId]])
        if (route.createdId !== undefined) replace.set(route.createdId, randomUUID())
        const rows = await runner.run(
          replace.size === 1 && lockId === route.lockId ? route.steps : substitute(route.steps, replace),
        )
        return reply.code(route.method === 'POST' ? 201 : 200).send(rows)
      },
    })
  }
  const url = await app.listen({ port: 0, host: '127.0.0.1' })
  console.log(`floor listening at ${url}`)
  const stop = async () => {
    await app.close()
    await runner.close()
    process.exit(0)
  }
  process.once('SIGINT', stop)
  process.once('SIGTERM', stop)
}

await main()
