/**
 * The audit download at scale: `GET /api/v1/events.csv` of 1,000,000 events through the real HTTP
 * server on the local PostgreSQL (a database of its own, dropped at the end), read as a stream,
 * against a plain `COPY (the same rows) TO STDOUT` by psql on the same database as the floor.
 * Memory: the server process's resident size, sampled every 20 ms while the download runs, minus its
 * size just before (the server runs in this process; the client only counts bytes).
 */
import { spawnSync } from 'node:child_process'
import { buildApp, createSecrets } from '@latchkey/server'
import { sql } from 'drizzle-orm'
import { openTestStore, signupOwner, TEST_MASTER_KEY } from '../packages/server/src/testing.ts'
import { defineSuite, formatNumber } from './lib.ts'

const ROWS = 1_000_000

export default defineSuite({
  name: 'export',
  async run() {
    const store = await openTestStore({ services: true })
    const app = buildApp({ store, secrets: createSecrets(TEST_MASTER_KEY) })
    try {
      const owner = await signupOwner(app)
      await store.db.execute(
        sql`insert into events (organization_id, type, lock_id, data, occurred_at, recorded_at)
            select ${owner.organizationId}::uuid, case when n % 3 = 0 then 'lock.access_denied' else 'lock.unlocked' end, null,
                   jsonb_build_object('label', 'Cleaner – ' || n, 'lockName', 'Front door', 'method', 'keypad'),
                   timestamptz '2026-01-01' + n * interval '1 second', timestamptz '2026-01-01' + n * interval '1 second'
            from generate_series(1, ${ROWS}) as n`,
      )
      await store.db.execute(sql`analyze events`)
      const url = await app.listen({ port: 0, host: '127.0.0.1' })

      global.gc?.()
      const before = process.memoryUsage.rss()
      let peak = before
      const sampler = setInterval(() => {
        peak = Math.max(peak, process.memoryUsage.rss())
      }, 20)
      const started = performance.now()
      const response = await fetch(`${url}/api/v1/events.csv`, { headers: owner.headers })
      let bytes = 0
      let newlines = 0
      for await (const chunk of response.body as unknown as AsyncIterable<Uint8Array>) {
        bytes += chunk.length
        for (const byte of chunk) if (byte === 10) newlines++
      }
      const seconds = (performance.now() - started) / 1000
      clearInterval(sampler)
      if (newlines !== ROWS + 1) throw new Error(`the CSV held ${newlines - 1} rows, not ${ROWS}`)

      const copyStarted = performance.now()
      const copy = spawnSync(
        'psql',
        [
          store.databaseUrl!,
          '-qAt',
          '-c',
          `\\copy (select id, occurred_at, recorded_at, type, lock_id, data->>'lockName', access_code_id, data->>'label', unique_code_id, gateway_id, actor_user_id, data->>'method', data->>'reason', data from events where organization_id = '${owner.organizationId}' order by id desc) to stdout with csv header`,
        ],
        { maxBuffer: 1 << 30 },
      )
      const copySeconds = (performance.now() - copyStarted) / 1000
      if (copy.status !== 0) throw new Error(`psql failed: ${copy.stderr}`)
      const copyRows = copy.stdout.toString('utf8').split('\n').length - 2
      if (copyRows !== ROWS) throw new Error(`COPY gave ${copyRows} rows`)

      const rate = ROWS / seconds
      const copyRate = ROWS / copySeconds
      return [
        {
          name: 'GET /events.csv, 1,000,000 events (PostgreSQL 15, over HTTP)',
          value: formatNumber(rate),
          unit: 'rows/s',
          note: `${formatNumber(seconds)} s, ${formatNumber(bytes / 1e6)} MB`,
        },
        {
          name: '… peak RSS growth of the server process during the download',
          value: formatNumber((peak - before) / 1e6),
          unit: 'MB',
          note: `RSS ${formatNumber(before / 1e6)} MB before, ${formatNumber(peak / 1e6)} MB peak`,
        },
        {
          name: 'floor: psql \\copy (same rows, same order) TO STDOUT',
          value: formatNumber(copyRate),
          unit: 'rows/s',
          note: `${formatNumber(copySeconds)} s`,
        },
        {
          name: '… export as a ratio to the floor',
          value: formatNumber(copyRate / rate),
          unit: '× COPY time',
        },
      ]
    } finally {
      await app.close()
      await store.close()
    }
  },
})
