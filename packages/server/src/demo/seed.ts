/**
 * The data of the demo (SPEC §10, `latchkey serve --demo`): an organization with its owner, a
 * gateway and three locks, created once and found again on the next start on the same database.
 * The owner's password is LATCHKEY_DEMO_PASSWORD when set; otherwise one is generated and kept in
 * `<stateDir>/demo-owner.json` (mode 0600) so that it stays the same from one start to the next.
 * The gateway gets a new token at each start (the demo holds it in memory only).
 */
import { randomBytes } from 'node:crypto'
import { mkdirSync, readFileSync, writeFileSync } from 'node:fs'
import { join } from 'node:path'
import type { ProvisioningBundle } from '@latchkey/protocol'
import { and, asc, eq, isNull } from 'drizzle-orm'
import { normalizeEmail, signup } from '../accounts/index.ts'
import type { ServerDeps } from '../context.ts'
import { verifyPassword } from '../credentials.ts'
import {
  createGateway,
  createLock,
  deleteLock,
  provisioningBundle,
  rotateGatewayToken,
} from '../devices/index.ts'
import { gateways, locks, memberships, users } from '../store/index.ts'

export const DEMO_EMAIL = 'demo@latchkey.local'
export const DEMO_ORGANIZATION = 'Demo'
export const DEMO_GATEWAY = 'Demo gateway'
export const DEMO_LOCKS = ['Front door', 'Back door', 'Garage'] as const

export interface DemoSeedOptions {
  email?: string | undefined
  /** Fixed password (LATCHKEY_DEMO_PASSWORD). */
  password?: string | undefined
  /** Time zone of the demo locks. */
  timezone: string
  /** Where the generated password is kept. */
  stateDir: string
}

export interface DemoLock {
  id: string
  name: string
  bundle: ProvisioningBundle
  created: boolean
}

export interface DemoData {
  organizationId: string
  owner: { email: string; password: string }
  gateway: { id: string; token: string }
  /** `created`: registered just now (a lock that existed keeps its state in the simulator). */
  locks: DemoLock[]
  /** True on the first start (the organization was created now). */
  created: boolean
}

function readKeptPassword(path: string): string | null {
  try {
    const kept = JSON.parse(readFileSync(path, 'utf8')) as { password?: unknown }
    return typeof kept.password === 'string' ? kept.password : null
  } catch {
    return null
  }
}

export async function seedDemo(deps: ServerDeps, options: DemoSeedOptions): Promise<DemoData> {
  const { db, clock } = deps
  const email = normalizeEmail(options.email ?? DEMO_EMAIL)
  const keptPath = join(options.stateDir, 'demo-owner.json')
  const password = options.password ?? readKeptPassword(keptPath) ?? randomBytes(9).toString('base64url')

  let created = false
  const [user] = await db
    .select({ id: users.id, passwordHash: users.passwordHash })
    .from(users)
    .where(eq(users.email, email))
  let organizationId: string
  if (user === undefined) {
    ;({ organizationId } = await signup(db, clock.now(), {
      email,
      password,
      organizationName: DEMO_ORGANIZATION,
    }))
    created = true
  } else {
    const [membership] = await db
      .select({ organizationId: memberships.organizationId })
      .from(memberships)
      .where(and(eq(memberships.userId, user.id), eq(memberships.role, 'owner')))
      .orderBy(asc(memberships.createdAt))
    if (membership === undefined)
      throw new Error(`${email} exists but owns no organization: choose another LATCHKEY_DEMO_EMAIL`)
    organizationId = membership.organizationId
    // An existing user's password is theirs: the demo never changes it.
    if (!(await verifyPassword(user.passwordHash, password)))
      throw new Error(
        options.password === undefined
          ? `${email} already has a password of its own: log in with it, or set LATCHKEY_DEMO_PASSWORD to it`
          : `${email} already has a password, and it is not LATCHKEY_DEMO_PASSWORD: the demo never changes an existing user's password`,
      )
  }
  if (options.password === undefined) {
    mkdirSync(options.stateDir, { recursive: true })
    writeFileSync(keptPath, `${JSON.stringify({ email, password })}\n`, { mode: 0o600 })
  }

  const [existingGateway] = await db
    .select({ id: gateways.id })
    .from(gateways)
    .where(
      and(
        eq(gateways.organizationId, organizationId),
        eq(gateways.name, DEMO_GATEWAY),
        isNull(gateways.deletedAt),
      ),
    )
    .orderBy(asc(gateways.createdAt))
  let gateway: { id: string; token: string }
  if (existingGateway === undefined) {
    const made = await createGateway(db, deps.broker.registrar, clock.now(), organizationId, DEMO_GATEWAY)
    gateway = { id: made.gateway.id, token: made.token }
  } else {
    gateway = {
      id: existingGateway.id,
      token: await rotateGatewayToken(
        db,
        deps.broker.registrar,
        clock.now(),
        organizationId,
        existingGateway.id,
      ),
    }
  }

  const demoLocks: DemoData['locks'] = []
  for (const name of DEMO_LOCKS) {
    const [existing] = await db
      .select()
      .from(locks)
      .where(
        and(
          eq(locks.organizationId, organizationId),
          eq(locks.gatewayId, gateway.id),
          eq(locks.name, name),
          isNull(locks.deletedAt),
        ),
      )
      .orderBy(asc(locks.createdAt))
    if (existing !== undefined) {
      demoLocks.push({
        id: existing.id,
        name,
        bundle: provisioningBundle(deps.secrets, existing),
        created: false,
      })
    } else {
      const made = await createLock(
        db,
        deps.secrets,
        clock.now(),
        { organizationId },
        {
          name,
          timezone: options.timezone,
          gatewayId: gateway.id,
        },
      )
      demoLocks.push({ id: made.lock.id, name, bundle: made.bundle, created: true })
    }
  }
  return { organizationId, owner: { email, password }, gateway, locks: demoLocks, created }
}

/**
 * A demo lock whose simulated flash is gone (its state directory was removed) cannot go on under
 * its old identity: its counters and event numbers would start again below what the server has
 * seen. It is removed and registered anew, with a new secret.
 */
export async function replaceDemoLock(
  deps: ServerDeps,
  data: Pick<DemoData, 'organizationId' | 'gateway'>,
  lock: DemoLock,
): Promise<DemoLock> {
  const now = deps.clock.now()
  await deleteLock(deps.db, now, { organizationId: data.organizationId }, lock.id)
  const [existing] = await deps.db
    .select({ timezone: locks.timezone })
    .from(locks)
    .where(eq(locks.id, lock.id))
  const made = await createLock(
    deps.db,
    deps.secrets,
    now,
    { organizationId: data.organizationId },
    {
      name: lock.name,
      timezone: existing?.timezone ?? lock.bundle.timezone,
      gatewayId: data.gateway.id,
    },
  )
  return { id: made.lock.id, name: lock.name, bundle: made.bundle, created: true }
}
