/**
 * The API while its PostgreSQL is down: a request is answered 503 `service_unavailable` with
 * Retry-After (problem+json, words for a person), never a 500; once the database is back the same
 * requests succeed, with no restart of the server. A lock's answer that comes while it is down
 * counts once it is back. Runs only against the real services.
 */
import { sql } from 'drizzle-orm'
import { afterAll, beforeAll, describe, expect, it } from 'vitest'
import { openStore, type Store } from '../packages/server/src/store/index.ts'
import {
  buildTestApp,
  signupOwner,
  type TestAccount,
  type TestApp,
  usingTestServices,
} from '../packages/server/src/testing.ts'
import { eventually, startTestServer } from './harness.ts'
import { type PrivatePostgres, privatePostgresAvailable, startPrivatePostgres } from './private-postgres.ts'
import { startRelayGateway } from './relay-gateway.ts'

describe.skipIf(!usingTestServices() || !privatePostgresAvailable())(
  'the API while PostgreSQL is down',
  () => {
    let postgres: PrivatePostgres
    let store: Store
    let t: TestApp
    let owner: TestAccount

    beforeAll(async () => {
      postgres = await startPrivatePostgres()
      store = await openStore({ databaseUrl: postgres.databaseUrl, poolSize: 4, onPoolError: () => {} })
      t = await buildTestApp({ store: { ...store, databaseUrl: postgres.databaseUrl } })
      owner = await signupOwner(t.app)
    })

    afterAll(async () => {
      await t?.close()
      await store?.close()
      await postgres?.remove()
    })

    it('answers 503 service_unavailable with Retry-After while it is down, and serves again once it is back', async () => {
      const listLocks = () => t.app.inject({ method: 'GET', url: '/api/v1/locks', headers: owner.headers })
      expect((await listLocks()).statusCode).toBe(200)

      await postgres.crash()
      for (const response of [
        await listLocks(),
        await t.app.inject({
          method: 'POST',
          url: '/api/v1/gateways',
          headers: owner.headers,
          payload: { name: 'Hall' },
        }),
      ]) {
        expect(response.statusCode).toBe(503)
        expect(response.headers['content-type']).toContain('application/problem+json')
        expect(response.headers['retry-after']).toBe('5')
        expect(response.json()).toMatchObject({
          code: 'service_unavailable',
          status: 503,
          detail: 'The database is not reachable at the moment. Try again in a few seconds.',
        })
      }

      await postgres.start()
      expect((await listLocks()).statusCode).toBe(200)
      const made = await t.app.inject({
        method: 'POST',
        url: '/api/v1/gateways',
        headers: owner.headers,
        payload: { name: 'Hall' },
      })
      expect(made.statusCode).toBe(201)
    })

    it('takes a lock’s answer that came while it was down once it is back: the code is set, not sent again', async () => {
      const server = await startTestServer({ databaseUrl: postgres.databaseUrl })
      try {
        const { api } = await server.signup()
        const relay = await startRelayGateway(server, api)
        // the lock takes the code; its answer leaves while PostgreSQL is down, which is back after
        relay.holdNextReply(
          async (_counter, send) => {
            await postgres.crash()
            await send()
            await new Promise((resolve) => setTimeout(resolve, 1_000))
            await postgres.start()
          },
          () => relay.lock.view().codes.length > 0,
        )
        const code = await api.expect(201, 'POST', `/api/v1/locks/${relay.lockId}/access-codes`, {
          name: 'Electrician',
          kind: 'permanent',
          code: '615037',
        })
        // well before the command would be sent again (30 s after it went)
        await eventually(
          'the code set',
          async () => {
            const response = await api.get(`/api/v1/access-codes/${code.id}`)
            return response.status === 200 && response.body.status === 'set'
          },
          { timeoutMs: 20_000 },
        )
        const sent = await server.server.deps.db.execute(
          sql`select count(*)::int as n from lock_commands where type = 'set_code' and command->>'codeId' = ${code.id}`,
        )
        expect(sent.rows[0]).toEqual({ n: 1 })
        await relay.close()
      } finally {
        await server.close()
      }
    }, 60_000)
  },
)
