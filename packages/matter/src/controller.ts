/**
 * Latchkey as a Matter controller: one matter.js ServerNode that owns a fabric (kept in its storage
 * directory) and commissions door locks into it. Per lock it keeps a subscription (reachability and
 * the lock's operation events) and speaks the Door Lock cluster: users with a PIN credential, Year
 * Day and Week Day schedules, DisposableUser for one-time codes, read-back of users and credential
 * status, remote unlock, capacity from the lock's attributes.
 */
import { withinTimeLimit } from '@latchkey/core'
import { Bytes, ControllerBehavior, ServerNode } from '@matter/main'
import { DoorLockClient } from '@matter/main/behaviors/door-lock'
import { DoorLock } from '@matter/main/clusters/door-lock'
import type { ClientNode } from '@matter/main/node'
import { PeerSet } from '@matter/main/protocol'
import { configureMatterEnvironment } from './environment.ts'
import { type CommissionTarget, parseAddress } from './target.ts'

export interface LockCapacity {
  users: number
  pinUsers: number
  credentialsPerUser: number
  weekDaySchedulesPerUser: number
  yearDaySchedulesPerUser: number
  minPinLength: number
  maxPinLength: number
}

export interface MatterUser {
  userIndex: number
  userName: string | null
  userUniqueId: number | null
  userType: DoorLock.UserType | null
  userStatus: DoorLock.UserStatus | null
  /** PIN credential indexes of the user. */
  pins: number[]
  creatorFabricIndex: number | null
  lastModifiedFabricIndex: number | null
}

export interface WeekDaySlot {
  days: number[]
  startHour: number
  startMinute: number
  endHour: number
  endMinute: number
}

/** A user as the controller wants it on the lock. */
export interface DesiredUser {
  userIndex: number
  userName: string
  userUniqueId: number
  userType: DoorLock.UserType
  pin: string
  /** Unix seconds [start, end). */
  yearDay?: { start: number; end: number }
  weekDays?: WeekDaySlot[]
}

export type LockActivity =
  | { type: 'unlocked'; userIndex: number | null; source: DoorLock.OperationSource; eventNumber: bigint }
  | {
      type: 'denied'
      userIndex: number | null
      error: DoorLock.OperationError
      source: DoorLock.OperationSource
      eventNumber: bigint
    }

export interface ControllerEvents {
  reachable?(nodeId: string, reachable: boolean): void
  activity?(nodeId: string, activity: LockActivity): void
}

/** The Door Lock's endpoint on a node: the first endpoint that has the cluster. */
function lockEndpoint(node: ClientNode) {
  for (const part of node.parts) {
    if (part.behaviors.has(DoorLockClient)) return part
  }
  throw new Error(`node ${node.id} has no Door Lock endpoint`)
}

const DAY_KEYS = ['monday', 'tuesday', 'wednesday', 'thursday', 'friday', 'saturday', 'sunday'] as const

const controllerNode = ServerNode.RootEndpoint.with(ControllerBehavior)
type ControllerNode = ServerNode<typeof controllerNode>

export class MatterController {
  readonly #node: ControllerNode
  readonly #events: ControllerEvents
  readonly #watched = new Set<string>()
  #commissioning: Promise<void> = Promise.resolve()

  private constructor(node: ControllerNode, events: ControllerEvents) {
    this.#node = node
    this.#events = events
  }

  /**
   * `networkInterface`: where locks are found (mDNS) and reached (UDP on every address); without it,
   * loopback only, so the demo and tests never speak on a real network.
   */
  static async start(options: {
    storagePath: string
    port?: number
    networkInterface?: string | undefined
    events?: ControllerEvents
  }) {
    const { networkInterface } = options
    configureMatterEnvironment({ storagePath: options.storagePath, mdnsInterface: networkInterface })
    const node = await ServerNode.create(controllerNode, {
      id: 'latchkey-controller',
      network:
        networkInterface === undefined
          ? { port: options.port ?? 0, listeningAddressIpv4: '127.0.0.1', listeningAddressIpv6: '::1' }
          : { port: options.port ?? 0 },
      commissioning: { enabled: false },
    })
    await node.start()
    const controller = new MatterController(node, options.events ?? {})
    for (const peer of node.peers) controller.#watch(peer)
    return controller
  }

  /**
   * Commissions a lock into the fabric; resolves with its node id (stable across restarts).
   *
   * With an address, the lock is reached there for PASE and again for the operational (CASE)
   * session that finishes commissioning: matter.js would look the new node up by mDNS (commissioning
   * step 18), so the peer it makes for the lock's operational address is handed the known address as
   * it is created. Commissionings run one at a time, so the address reaches the right peer.
   */
  async commission(target: CommissionTarget): Promise<{ nodeId: string }> {
    const run = this.#commissioning.then(() => this.#commissionNow(target))
    this.#commissioning = run.then(
      () => undefined,
      () => undefined,
    )
    return run
  }

  async #commissionNow(target: CommissionTarget): Promise<{ nodeId: string }> {
    const options =
      'pairingCode' in target
        ? { pairingCode: target.pairingCode }
        : { passcode: target.passcode, discriminator: target.discriminator }
    let node: ClientNode
    if (target.address !== undefined) {
      const { ip, port } = parseAddress(target.address)
      const peers = this.#node.env.get(PeerSet)
      const giveAddress = (peer: { descriptor: { operationalAddress?: unknown } }) => {
        if (peer.descriptor.operationalAddress === undefined) {
          peer.descriptor.operationalAddress = { type: 'udp', ip, port }
        }
      }
      peers.added.on(giveAddress)
      try {
        node = await this.#node.peers.forDescriptor({ addresses: [{ type: 'udp', ip, port }] })
        await node.commission(options)
      } finally {
        peers.added.off(giveAddress)
      }
    } else {
      node = await (this.#node.peers.commission(options as never) as unknown as PromiseLike<ClientNode>)
    }
    this.#watch(node)
    return { nodeId: node.id }
  }

  #peer(nodeId: string): ClientNode {
    const peer = this.#node.peers.get(nodeId)
    if (peer === undefined) throw new Error(`no commissioned Matter node ${nodeId}`)
    return peer
  }

  #watch(node: ClientNode) {
    if (this.#watched.has(node.id)) return
    this.#watched.add(node.id)
    node.events.network?.subscriptionStatusChanged?.on((active: boolean) => {
      this.#events.reachable?.(node.id, active)
    })
    // Every report and keep-alive of the subscription says the lock is there (after a command it did
    // not answer, this is what brings it back).
    node.events.network?.subscriptionAlive?.on(() => {
      this.#events.reachable?.(node.id, true)
    })
    // Listens on the lock's Door Lock endpoint as it is now, and again on each that matter.js
    // installs for the node later (its endpoints are built from what the node reports), once each.
    const attached = new WeakSet<object>()
    const attach = (endpoint: ReturnType<typeof lockEndpoint>) => {
      const events = endpoint.eventsOf(DoorLockClient)
      if (attached.has(events)) return
      attached.add(events)
      events.lockOperation.on((payload: DoorLock.LockOperationEvent, ...rest: unknown[]) => {
        if (payload.lockOperationType !== DoorLock.LockOperationType.Unlock) return
        this.#events.activity?.(node.id, {
          type: 'unlocked',
          userIndex: payload.userIndex,
          source: payload.operationSource,
          eventNumber: eventNumberOf(rest),
        })
      })
      events.lockOperationError.on((payload: DoorLock.LockOperationErrorEvent, ...rest: unknown[]) => {
        this.#events.activity?.(node.id, {
          type: 'denied',
          userIndex: payload.userIndex,
          error: payload.operationError,
          source: payload.operationSource,
          eventNumber: eventNumberOf(rest),
        })
      })
    }
    this.#node.peers.clusterInstalled(DoorLockClient).on((endpoint) => {
      if (endpoint.owner === node && this.#watched.has(node.id)) attach(endpoint)
    })
    try {
      attach(lockEndpoint(node))
    } catch {
      // not built yet: clusterInstalled brings it
    }
  }

  /** Whether the controller has a live subscription to the lock now. */
  isReachable(nodeId: string): boolean {
    const peer = this.#node.peers.get(nodeId)
    if (peer === undefined) return false
    return peer.lifecycle.isOnline
  }

  commands(nodeId: string) {
    return lockEndpoint(this.#peer(nodeId)).commandsOf(DoorLockClient)
  }

  async capacity(nodeId: string): Promise<LockCapacity> {
    const s = lockEndpoint(this.#peer(nodeId)).stateOf(DoorLockClient) as unknown as Record<
      string,
      number | undefined
    >
    return {
      users: s.numberOfTotalUsersSupported ?? 0,
      pinUsers: s.numberOfPinUsersSupported ?? 0,
      credentialsPerUser: s.numberOfCredentialsSupportedPerUser ?? 1,
      weekDaySchedulesPerUser: s.numberOfWeekDaySchedulesSupportedPerUser ?? 0,
      yearDaySchedulesPerUser: s.numberOfYearDaySchedulesSupportedPerUser ?? 0,
      minPinLength: s.minPinCodeLength ?? 4,
      maxPinLength: s.maxPinCodeLength ?? 8,
    }
  }

  /** One attribute read from the lock itself (not the cache): the round trip a bench compares with. */
  async readLockState(nodeId: string): Promise<unknown> {
    const endpoint = lockEndpoint(this.#peer(nodeId))
    const state = await endpoint.getStateOf(DoorLockClient, ['lockState'], { remote: true } as never)
    return state.lockState
  }

  /** Every occupied user of the lock, by following nextUserIndex. */
  async users(nodeId: string): Promise<MatterUser[]> {
    const commands = this.commands(nodeId)
    const out: MatterUser[] = []
    let index: number | null = 1
    const total = (await this.capacity(nodeId)).users
    while (index !== null && index <= total) {
      const user: DoorLock.GetUserResponse = await commands.getUser({ userIndex: index })
      if (user.userStatus !== null && user.userStatus !== DoorLock.UserStatus.Available) {
        out.push({
          userIndex: user.userIndex,
          userName: user.userName,
          userUniqueId: user.userUniqueId,
          userType: user.userType,
          userStatus: user.userStatus,
          pins: (user.credentials ?? [])
            .filter((c) => c.credentialType === DoorLock.CredentialType.Pin)
            .map((c) => c.credentialIndex),
          creatorFabricIndex: user.creatorFabricIndex,
          lastModifiedFabricIndex: user.lastModifiedFabricIndex,
        })
      }
      index = user.nextUserIndex
    }
    return out
  }

  async credentialStatus(nodeId: string, credentialIndex: number) {
    return this.commands(nodeId).getCredentialStatus({
      credential: { credentialType: DoorLock.CredentialType.Pin, credentialIndex },
    })
  }

  async yearDay(nodeId: string, userIndex: number) {
    return this.commands(nodeId).getYearDaySchedule({ yearDayIndex: 1, userIndex })
  }

  async weekDay(nodeId: string, userIndex: number, weekDayIndex: number) {
    return this.commands(nodeId).getWeekDaySchedule({ weekDayIndex, userIndex })
  }

  /** The fabric index the lock gave this controller (what its users' creator fields name). */
  fabricIndexOn(nodeId: string): number | null {
    const peer = this.#peer(nodeId)
    const state = peer.stateOf('commissioning') as { fabricIndexOnPeer?: number }
    return state.fabricIndexOnPeer ?? null
  }

  /**
   * Puts a user on the lock as `desired` says: the user first (SetCredential with a null user index
   * fails in matter.js 0.17.9), then its PIN, then its schedules. An existing user at that index is
   * cleared first, so nothing of an older rule remains.
   */
  async putUser(nodeId: string, desired: DesiredUser): Promise<'ok' | 'duplicate' | 'full'> {
    const commands = this.commands(nodeId)
    await commands.clearUser({ userIndex: desired.userIndex })
    await commands.setUser({
      operationType: DoorLock.DataOperationType.Add,
      userIndex: desired.userIndex,
      userName: desired.userName.slice(0, 10),
      userUniqueId: desired.userUniqueId,
      userStatus: DoorLock.UserStatus.OccupiedEnabled,
      userType: desired.userType,
      credentialRule: DoorLock.CredentialRule.Single,
    })
    const response: DoorLock.SetCredentialResponse = await commands.setCredential({
      operationType: DoorLock.DataOperationType.Add,
      credential: { credentialType: DoorLock.CredentialType.Pin, credentialIndex: desired.userIndex },
      credentialData: Bytes.fromString(desired.pin),
      userIndex: desired.userIndex,
      userStatus: null,
      userType: null,
    })
    const status = response.status as number
    if (status !== 0) {
      await commands.clearUser({ userIndex: desired.userIndex })
      // matter.js answers a PIN the lock holds already with FAILURE (1), the specification with DUPLICATE (2).
      if (status === 2 || status === 1) return 'duplicate'
      return 'full'
    }
    if (desired.yearDay !== undefined) {
      await commands.setYearDaySchedule({
        yearDayIndex: 1,
        userIndex: desired.userIndex,
        localStartTime: desired.yearDay.start,
        localEndTime: desired.yearDay.end,
      })
    }
    let weekDayIndex = 1
    for (const slot of desired.weekDays ?? []) {
      const daysMask: Record<string, boolean> = {}
      for (const d of slot.days) daysMask[DAY_KEYS[d - 1] ?? 'monday'] = true
      await commands.setWeekDaySchedule({
        weekDayIndex,
        userIndex: desired.userIndex,
        daysMask,
        startHour: slot.startHour,
        startMinute: slot.startMinute,
        endHour: slot.endHour,
        endMinute: slot.endMinute,
      })
      weekDayIndex++
    }
    return 'ok'
  }

  /** Takes a user (its credentials and schedules go with it) off the lock. */
  async clearUser(nodeId: string, userIndex: number): Promise<void> {
    await this.commands(nodeId).clearUser({ userIndex })
  }

  async unlock(nodeId: string): Promise<void> {
    await this.commands(nodeId).unlockDoor({})
  }

  /**
   * Removes the lock from the fabric (and forgets it). A lock that does not answer within
   * `answerWithinMs` is forgotten all the same (it keeps the fabric until it is reset).
   */
  async forget(nodeId: string, answerWithinMs = 10_000): Promise<void> {
    const peer = this.#node.peers.get(nodeId)
    if (peer === undefined) return
    this.#watched.delete(nodeId)
    try {
      await withinTimeLimit(peer.decommission(), answerWithinMs)
    } catch {
      // an unreachable lock keeps the fabric until it is reset; we forget it anyway
    }
    // A decommissioned node is closed and gone from the peers already; one that was not is deleted.
    const still = this.#node.peers.get(nodeId)
    if (still === undefined) return
    try {
      await still.delete()
    } catch (error) {
      if (this.#node.peers.get(nodeId) !== undefined && still.lifecycle.isReady) throw error
    }
  }

  async close(): Promise<void> {
    await this.#node.close()
  }
}

function eventNumberOf(rest: unknown[]): bigint {
  for (const r of rest) {
    const n = (r as { eventNumber?: unknown } | undefined)?.eventNumber
    if (typeof n === 'bigint') return n
    if (typeof n === 'number') return BigInt(n)
  }
  return -1n
}
