/**
 * What the tests of a gateway's messages share: an app with an owner and one gateway ("Hall"), the
 * channel context the handlers take (its sends answered by `send`), and a lock on that gateway with
 * the key its frames are sealed with.
 */
import { randomUUID } from 'node:crypto'
import { deriveLockKeys } from '@latchkey/protocol'
import type { FastifyInstance } from 'fastify'
import { afterAll, beforeAll } from 'vitest'
import { buildTestApp, signupOwner, type TestAccount, type TestApp } from '../testing.ts'
import { silentLogger } from './channel-context.ts'
import { LockKeyCache } from './lock-keys.ts'

export interface GatewaySetup {
  readonly t: TestApp
  readonly app: FastifyInstance
  readonly owner: TestAccount
  readonly gatewayId: string
}

/** Builds the app, its owner and the gateway before the file's tests, and closes it after them. */
export function useGatewaySetup(): GatewaySetup {
  const setup = {} as { t: TestApp; app: FastifyInstance; owner: TestAccount; gatewayId: string }
  beforeAll(async () => {
    setup.t = await buildTestApp()
    setup.app = setup.t.app
    setup.owner = await signupOwner(setup.app)
    const gateway = await setup.app.inject({
      method: 'POST',
      url: '/api/v1/gateways',
      headers: setup.owner.headers,
      payload: { name: 'Hall' },
    })
    setup.gatewayId = gateway.json().id
  })
  afterAll(() => setup.t.close())
  return setup
}

type Send = (lockId: string, command: { type: string; upToSeq?: number }) => Promise<{ commandId: string }>

/** The context handleLockUp and the link handlers take; a command sent is answered by `send`. */
export const channelContext = (
  app: FastifyInstance,
  send: Send = async () => ({ commandId: randomUUID() }),
) => ({
  deps: app.deps,
  keys: new LockKeyCache(app.deps.secrets),
  log: silentLogger,
  replyHandlers: [],
  eventHandlers: [],
  send,
})

/** A lock "Side door" on the setup's gateway, and the key its frames to the server are sealed with. */
export async function lockOnGateway(
  setup: GatewaySetup,
): Promise<{ id: string; key: Uint8Array; lock: { id: string } }> {
  const response = await setup.app.inject({
    method: 'POST',
    url: '/api/v1/locks',
    headers: setup.owner.headers,
    payload: { name: 'Side door', timezone: 'UTC', gatewayId: setup.gatewayId },
  })
  const lock: { id: string; bundle: { secret: string } } = response.json()
  const key = deriveLockKeys(new Uint8Array(Buffer.from(lock.bundle.secret, 'base64'))).command
  return { id: lock.id, key, lock }
}
