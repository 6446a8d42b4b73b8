/**
 * The lock channel over MQTT: one client of the server on the broker (embedded or Mosquitto). It
 * subscribes to what gateways publish (`gatewayStatus`, `lockUp`, `lockLink`, `timeRequest`) — on a
 * broker with shared subscriptions as `$share/<group>/…`, so that several server processes split the
 * messages — and publishes sealed commands on `lockDown`.
 *
 * Messages about one lock (or one gateway) are handled one after the other in this process, in the
 * order they arrived; commands to one lock are sealed and published one after the other, so the lock
 * sees its counters in order. A message that fails to parse or to authenticate is dropped, logged and
 * counted (`latchkey_mqtt_messages_total{topic,outcome}`), never fatal.
 */
import { randomUUID } from 'node:crypto'
import { setTimeout as sleep } from 'node:timers/promises'
import { LatchkeyError } from '@latchkey/core'
import {
  type Command,
  parseTopic,
  sealCommand,
  serverFilter,
  type TopicName,
  topic,
  ZCommand,
} from '@latchkey/protocol'
import { and, eq, isNull, lt, sql } from 'drizzle-orm'
import mqtt, { type MqttClient } from 'mqtt'
import {
  gateways,
  isDatabaseUnreachable,
  isTransactionConflict,
  isUuid,
  lockCommands,
  locks,
} from '../store/index.ts'
import {
  type ChannelContext,
  type ChannelLogger,
  type LockChannelDeps,
  type MessageOutcome,
  silentLogger,
} from './channel-context.ts'
import { registerChannelGauges } from './channel-metrics.ts'
import { CommandCounters } from './command-counters.ts'
import { handleGatewayStatus, handleLockLink, timeRequestHandler } from './link-status.ts'
import type { LockChannel, LockEventsHandler, ReplyHandler, SendOptions } from './lock-channel.ts'
import { LockKeyCache } from './lock-keys.ts'
import { handleLockUp, pendingCommandRow } from './lock-up.ts'
import type { MqttClientTls } from './server-mqtt.ts'

/** The topics the server listens to. */
export const SERVER_TOPICS: readonly TopicName[] = ['gatewayStatus', 'lockUp', 'lockLink', 'timeRequest']

/**
 * QoS of a command. Most go with QoS 1 on the gateway's persistent session, so a gateway that is
 * away gets them when it is back. An unlock or a time must not arrive late (a door opening hours
 * after it was asked, a clock set to a time long past): they go with QoS 0, which the broker does
 * not keep for an absent gateway; a lost one is simply not answered, and asked again.
 */
export function qosOf(command: Command): 0 | 1 {
  return command.type === 'unlock' || command.type === 'set_time' ? 0 : 1
}

/** How long a send waits for the broker to take a frame before it lets the next one go. */
const PUBLISH_ORDER_WAIT_MS = 2_000

/** Tries to take a counter when other server processes keep sending to the same lock meanwhile. */
const MAX_COUNTER_ATTEMPTS = 5

/** How long commands and their replies are kept in `lock_commands`. */
export const COMMAND_RETENTION_MS = 30 * 24 * 3_600_000
const PRUNE_INTERVAL_MS = 3_600_000

/** Messages from one gateway waiting to be handled; beyond this they are dropped (the gateway re-sends). */
const MAX_QUEUED_PER_KEY = 1000
/**
 * A message that finds the database unreachable (restarting, crashed) is handled again once it is
 * back, waiting this long at most: a lock's answer that comes in the meantime still counts then,
 * instead of leaving its code `setting` until the command is sent again. The gateway's next messages
 * wait behind it, in order.
 */
const DATABASE_DOWN_PATIENCE_MS = 60_000
/** Waits before each new try: then every second (the reconciler's DATABASE_BACK_GRACE_MS counts on it). */
const DATABASE_DOWN_RETRY_MS = [250, 500, 1_000]
/** A message whose transaction PostgreSQL ended for a deadlock is handled this many times at most. */
const MAX_CONFLICT_ATTEMPTS = 5

export interface StartLockChannelOptions {
  deps: LockChannelDeps
  /** `mqtt://host:port` of the broker. */
  url: string
  username: string
  password: string
  /** TLS options for `mqtts://` (server-mqtt.ts). */
  tls?: MqttClientTls
  /** `$share/<group>/` subscriptions (a broker with shared subscriptions); null for plain ones. */
  sharedGroup?: string | null
  log?: ChannelLogger
  /** How long to wait for the first connection (default 15 s). */
  connectTimeoutMs?: number
}

export interface RunningLockChannel extends LockChannel {
  /** Connected to the broker right now. */
  readonly connected: boolean
  /** Resolves when every message received so far was handled (tests, shutdown). */
  idle(): Promise<void>
  close(): Promise<void>
}

/** Runs tasks with the same key one after the other. */
export class KeyedQueue {
  readonly #tails = new Map<string, { tail: Promise<void>; size: number }>()

  size(key: string): number {
    return this.#tails.get(key)?.size ?? 0
  }

  run<T>(key: string, task: () => Promise<T>): Promise<T> {
    const entry = this.#tails.get(key) ?? { tail: Promise.resolve(), size: 0 }
    entry.size += 1
    const result = entry.tail.then(task)
    entry.tail = result.then(
      () => {},
      () => {},
    )
    this.#tails.set(key, entry)
    void entry.tail.then(() => {
      entry.size -= 1
      if (entry.size === 0 && this.#tails.get(key) === entry) this.#tails.delete(key)
    })
    return result
  }

  async idle(): Promise<void> {
    for (let round = 0; round < 100 && this.#tails.size > 0; round++) {
      await Promise.all([...this.#tails.values()].map((entry) => entry.tail))
    }
  }
}

export async function startLockChannel(options: StartLockChannelOptions): Promise<RunningLockChannel> {
  const { deps } = options
  const log = options.log ?? silentLogger
  const messages = deps.metrics.counter(
    'latchkey_mqtt_messages_total',
    'MQTT messages received from gateways, by topic and outcome.',
  )
  const commandsSent = deps.metrics.counter(
    'latchkey_lock_commands_sent_total',
    'Sealed commands sent to locks, by type.',
  )
  registerChannelGauges(deps.db, deps.metrics)
  let connectedNow = () => false
  deps.metrics.gauge(
    'latchkey_mqtt_connected',
    'Whether the server is connected to the MQTT broker (1) or not (0).',
    () => (connectedNow() ? 1 : 0),
  )

  const client: MqttClient = mqtt.connect(options.url, {
    ...options.tls,
    username: options.username,
    password: options.password,
    clientId: `latchkey-server-${randomUUID()}`,
    protocolVersion: 4,
    clean: true,
    reconnectPeriod: 1000,
    connectTimeout: 10_000,
  })
  connectedNow = () => client.connected
  client.on('error', (error) => log.warn({ err: error }, `mqtt: ${error.message}`))
  client.on('offline', () => log.warn({ url: options.url }, 'MQTT broker unreachable; retrying'))
  client.on('connect', () => log.info({ url: options.url }, 'connected to the MQTT broker'))
  // When the broker was lost (the server's clock), until connected again.
  let lostAtMs: number | null = null
  const reconnectedHandlers: ((lostAtMs: number) => void)[] = []
  client.on('close', () => {
    lostAtMs ??= deps.clock.now()
  })

  await new Promise<void>((resolve, reject) => {
    const timer = setTimeout(() => {
      cleanup()
      reject(new LatchkeyError('service_unavailable', `cannot connect to the MQTT broker at ${options.url}`))
    }, options.connectTimeoutMs ?? 15_000)
    const onConnect = () => {
      cleanup()
      resolve()
    }
    const onError = (error: Error & { code?: number }) => {
      // a refused login does not get better by retrying
      if (error.code === 4 || error.code === 5 || error.code === 134 || error.code === 135) {
        cleanup()
        reject(
          new LatchkeyError(
            'service_unavailable',
            `the MQTT broker at ${options.url} refused the server's login`,
            { cause: error },
          ),
        )
      }
    }
    const cleanup = () => {
      clearTimeout(timer)
      client.off('connect', onConnect)
      client.off('error', onError)
    }
    client.on('connect', onConnect)
    client.on('error', onError)
  }).catch(async (error) => {
    client.end(true)
    throw error
  })

  const replyHandlers: ReplyHandler[] = []
  const eventHandlers: LockEventsHandler[] = []
  const keys = new LockKeyCache(deps.secrets)
  const inbound = new KeyedQueue()
  const outbound = new KeyedQueue()
  const counters = new CommandCounters(deps.db)
  let closed = false

  /**
   * Publishes a sealed command and waits until the broker has it (QoS 1: its PUBACK; QoS 0: written
   * out), at most PUBLISH_ORDER_WAIT_MS and not at all while disconnected (mqtt.js then queues it),
   * so a broker outage never holds the lock row for long.
   */
  function publishInOrder(to: string, frame: Uint8Array, command: Command, id: string, lockId: string) {
    return new Promise<void>((resolve) => {
      const timer = setTimeout(resolve, client.connected ? PUBLISH_ORDER_WAIT_MS : 0)
      client.publish(to, Buffer.from(frame), { qos: qosOf(command) }, (error) => {
        if (error) log.warn({ err: error, lockId, commandId: id }, `publishing ${command.type} failed`)
        clearTimeout(timer)
        resolve()
      })
    })
  }

  async function send(
    lockId: string,
    command: Command,
    sendOptions: SendOptions = {},
  ): Promise<{ commandId: string }> {
    const parsed = ZCommand.safeParse(command)
    if (!parsed.success)
      throw new LatchkeyError('validation_failed', `invalid ${command.type} command`, {
        details: parsed.error.issues,
      })
    if (!isUuid(lockId)) throw new LatchkeyError('not_found', `no lock ${lockId}`)
    if (closed) throw new LatchkeyError('service_unavailable', 'the server is shutting down')
    // The counter comes out of a block reserved (and committed) beforehand, so a frame that leaves
    // is never sealed again under its counter, whatever becomes of this transaction. The row lock on
    // the lock makes another server process wait until this frame is at the broker, so frames reach
    // the lock in counter order (it refuses a lower counter as a replay).
    const { db, secrets, clock } = deps
    return outbound.run(lockId, async () => {
      for (let attempt = 0; attempt < MAX_COUNTER_ATTEMPTS; attempt++) {
        if (!counters.holds(lockId)) await counters.reserve(lockId)
        let published: number | null = null
        try {
          const sent = await db.transaction(async (tx) => {
            const [lock] = await tx
              .select({
                sentCounter: locks.commandSentCounter,
                gatewayId: locks.gatewayId,
                organizationId: locks.organizationId,
                secretEncrypted: locks.secretEncrypted,
              })
              .from(locks)
              .where(and(eq(locks.id, lockId), isNull(locks.deletedAt)))
              .for('update')
            if (lock === undefined) throw new LatchkeyError('not_found', `no lock ${lockId}`)
            if (lock.gatewayId === null)
              throw new LatchkeyError('lock_offline', 'the lock has no gateway: it cannot be reached')
            const counter = counters.take(lockId, lock.sentCounter)
            if (counter === null) return null // another process sent above this block: reserve again
            await tx.update(locks).set({ commandSentCounter: counter }).where(eq(locks.id, lockId))
            const id = randomUUID()
            await tx.insert(lockCommands).values(
              pendingCommandRow(secrets, parsed.data, {
                id,
                organizationId: lock.organizationId,
                lockId,
                counter,
                requestedBy: sendOptions.requestedBy,
                sentAtMs: clock.now(),
              }),
            )
            const frame = sealCommand(
              keys.keys({ id: lockId, secretEncrypted: lock.secretEncrypted }).command,
              lockId,
              counter,
              { kind: 'command', id, command: parsed.data },
            )
            const to = topic('lockDown', { gatewayId: lock.gatewayId, lockId })
            published = counter
            await publishInOrder(to, frame, command, id, lockId)
            commandsSent.inc({ type: command.type })
            return { commandId: id }
          })
          if (sent !== null) return sent
        } catch (error) {
          // The frame left but its record did not commit: still say how far the lock has been sent,
          // so that another process does not send it a lower counter it would refuse.
          if (published !== null) await recordSent(lockId, published)
          throw error
        }
      }
      throw new LatchkeyError('service_unavailable', 'could not take a command counter for the lock; retry')
    })
  }

  async function recordSent(lockId: string, counter: number): Promise<void> {
    try {
      await deps.db
        .update(locks)
        .set({ commandSentCounter: sql`greatest(${locks.commandSentCounter}, ${counter})` })
        .where(eq(locks.id, lockId))
    } catch (error) {
      log.warn({ err: error, lockId }, 'recording the counter of a frame sent failed')
    }
  }

  const ctx: ChannelContext = { deps, keys, log, replyHandlers, eventHandlers, send }
  const handleTimeRequest = timeRequestHandler()

  async function handle(
    name: string,
    payload: Uint8Array,
  ): Promise<{ topic: string; outcome: MessageOutcome }> {
    const parsed = parseTopic(name)
    if (parsed === null) return { topic: 'unknown', outcome: 'unknown_topic' }
    const { gatewayId } = parsed.params
    switch (parsed.name) {
      case 'gatewayStatus':
        return { topic: parsed.name, outcome: await handleGatewayStatus(ctx, gatewayId, payload) }
      case 'lockUp':
        return {
          topic: parsed.name,
          outcome: await handleLockUp(ctx, gatewayId, parsed.params.lockId, payload),
        }
      case 'lockLink':
        return {
          topic: parsed.name,
          outcome: await handleLockLink(ctx, gatewayId, parsed.params.lockId, payload),
        }
      case 'timeRequest':
        return {
          topic: parsed.name,
          outcome: await handleTimeRequest(ctx, gatewayId, parsed.params.lockId, payload),
        }
      default:
        return { topic: parsed.name, outcome: 'unknown_topic' }
    }
  }

  /**
   * `handle`, again while the database is unreachable (DATABASE_DOWN_PATIENCE_MS at most), and again
   * at once when PostgreSQL ended its transaction to break a deadlock (a gateway's status and its
   * locks' links, replies and commands take the same rows): each handler is one transaction, or
   * takes a message it already took as a copy, so nothing is done twice.
   */
  async function handleOnceReachable(name: string, payload: Uint8Array): ReturnType<typeof handle> {
    const giveUpAt = Date.now() + DATABASE_DOWN_PATIENCE_MS
    let conflicts = 0
    for (let attempt = 0; ; attempt++) {
      try {
        return await handle(name, payload)
      } catch (error) {
        if (!closed && isTransactionConflict(error) && ++conflicts < MAX_CONFLICT_ATTEMPTS) continue
        if (closed || !isDatabaseUnreachable(error) || Date.now() >= giveUpAt) throw error
        if (attempt === 0)
          log.warn({ err: error, topic: name }, 'the database is not reachable: the message waits for it')
        await sleep(DATABASE_DOWN_RETRY_MS[Math.min(attempt, DATABASE_DOWN_RETRY_MS.length - 1)] ?? 5_000)
      }
    }
  }

  client.on('message', (name, payload) => {
    if (closed) return
    const parsed = parseTopic(name)
    // One queue per gateway: its messages are handled in the order the broker delivered them, so a
    // frame sent just before the connection dropped cannot mark a lock reachable after the last will.
    const key = parsed === null ? 'unknown' : parsed.params.gatewayId
    if (inbound.size(key) >= MAX_QUEUED_PER_KEY) {
      messages.inc({ topic: parsed?.name ?? 'unknown', outcome: 'overloaded' })
      return
    }
    const bytes = new Uint8Array(payload.buffer, payload.byteOffset, payload.byteLength)
    void inbound
      .run(key, () => handleOnceReachable(name, bytes))
      .then(
        ({ topic: t, outcome }) => messages.inc({ topic: t, outcome }),
        (error) => {
          messages.inc({ topic: parsed?.name ?? 'unknown', outcome: 'error' })
          log.error({ err: error, topic: name }, 'handling an MQTT message failed')
        },
      )
  })

  // The record of commands is for replies and for people looking into a lock's history: a month is enough.
  const prune = setInterval(() => {
    const before = new Date(deps.clock.now() - COMMAND_RETENTION_MS)
    deps.db
      .delete(lockCommands)
      .where(lt(lockCommands.sentAt, before))
      .then(
        () => {},
        (error: unknown) => log.warn({ err: error }, 'pruning old lock commands failed'),
      )
  }, PRUNE_INTERVAL_MS)
  prune.unref()

  // Connected again (mqtt.js subscribes again by itself): what was in flight meanwhile may be lost.
  client.on('connect', () => {
    if (lostAtMs === null || closed) return
    const since = lostAtMs
    lostAtMs = null
    for (const handler of reconnectedHandlers) handler(since)
  })

  const prefix = options.sharedGroup ? `$share/${options.sharedGroup}/` : ''
  const filters = SERVER_TOPICS.map((name) => `${prefix}${serverFilter(name)}`)
  try {
    const granted = await client.subscribeAsync(filters, { qos: 1 })
    const refused = granted.filter((g) => g.qos === 128).map((g) => g.topic)
    if (refused.length > 0) throw new Error(`refused: ${refused.join(', ')}`)
  } catch (cause) {
    client.end(true)
    throw new LatchkeyError(
      'service_unavailable',
      `the MQTT broker at ${options.url} refused the server's subscriptions`,
      { cause },
    )
  }

  return {
    send,
    onReply: (handler) => {
      replyHandlers.push(handler)
    },
    onLockEvents: (handler) => {
      eventHandlers.push(handler)
    },
    onReconnected: (handler) => {
      reconnectedHandlers.push(handler)
    },
    async reachable(lockId) {
      if (!isUuid(lockId)) return false
      const [row] = await deps.db
        .select({
          lockOnline: locks.online,
          gatewayOnline: gateways.online,
          gatewayDeleted: gateways.deletedAt,
        })
        .from(locks)
        .innerJoin(gateways, eq(gateways.id, locks.gatewayId))
        .where(and(eq(locks.id, lockId), isNull(locks.deletedAt)))
      return row?.lockOnline === true && row.gatewayOnline && row.gatewayDeleted === null
    },
    get connected() {
      return client.connected
    },
    idle: async () => {
      await inbound.idle()
      await outbound.idle()
    },
    async close() {
      if (closed) return
      closed = true
      clearInterval(prune)
      await inbound.idle()
      await outbound.idle()
      const ended = client.endAsync().then(
        () => true,
        () => false,
      )
      const timer = new Promise<boolean>((resolve) => setTimeout(() => resolve(false), 3000).unref())
      if (!(await Promise.race([ended, timer]))) client.end(true)
    },
  }
}
