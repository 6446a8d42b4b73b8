/**
 * A virtual Matter door lock (for tests and the demo): a matter.js ServerNode with one DoorLockDevice
 * endpoint (User, PIN credential, Week Day and Year Day schedules) whose users, credentials and
 * schedules live in the node's storage (`storagePath`), so a restarted lock keeps them. Its keypad is
 * `enterPin`; `changePinLocally` and `removeUserLocally` change it as a person at the lock (or another
 * app) would, for read-back tests.
 */
import { createSocket, type SocketType } from 'node:dgram'
import { Bytes, Endpoint, ServerNode, VendorId } from '@matter/main'
import { DoorLock } from '@matter/main/clusters/door-lock'
import { DoorLockDevice } from '@matter/main/devices/door-lock'
import { FabricIndex } from '@matter/main/types'
import { configureMatterEnvironment } from './environment.ts'
import { KeypadLockServer, type KeypadResult } from './keypad-lock-server.ts'

export interface VirtualLockOptions {
  /** UDP port the lock listens on (loopback). */
  port: number
  passcode: number
  discriminator: number
  storagePath: string
  /** The lock's IANA zone, for Week Day schedules (default UTC). */
  timezone?: string
  /** Users it holds (default 20). */
  users?: number
  clock?: () => number
}

export interface VirtualLock {
  readonly port: number
  readonly pairingCode: string
  readonly commissioned: boolean
  enterPin(pin: string): Promise<KeypadResult>
  /** The users it holds now (index, name, type, status, PIN credential present). */
  users(): Promise<VirtualLockUser[]>
  /** Programs a user at the lock itself (no fabric): its PIN, type and an optional Year Day window (Unix s). */
  addUserLocally(user: {
    userIndex: number
    pin: string
    userType: DoorLock.UserType
    yearDay?: { start: number; end: number }
  }): Promise<void>
  changePinLocally(userIndex: number, pin: string): Promise<void>
  removeUserLocally(userIndex: number): Promise<void>
  close(): Promise<void>
}

export interface VirtualLockUser {
  userIndex: number
  userName: string
  userType: number
  userStatus: number
  hasPin: boolean
}

/** A free UDP port on loopback (a lock's Matter port), asked of the system. */
export async function freeUdpPort(): Promise<number> {
  const socket = createSocket('udp4')
  await new Promise<void>((resolve) => socket.bind(0, '127.0.0.1', () => resolve()))
  const { port } = socket.address()
  await new Promise<void>((resolve) => socket.close(() => resolve()))
  return port
}

/** Whether UDP `port` is free on 127.0.0.1 and ::1, where a virtual lock listens. */
export async function udpPortFree(port: number): Promise<boolean> {
  const free = (type: SocketType, host: string) =>
    new Promise<boolean>((resolve) => {
      const socket = createSocket(type)
      socket.once('error', () => {
        socket.close()
        resolve(false)
      })
      socket.bind(port, host, () => socket.close(() => resolve(true)))
    })
  return (await free('udp4', '127.0.0.1')) && (await free('udp6', '::1'))
}

export async function startVirtualLock(options: VirtualLockOptions): Promise<VirtualLock> {
  configureMatterEnvironment({ storagePath: options.storagePath })
  const clock = options.clock ?? Date.now
  const timezone = options.timezone ?? 'UTC'
  const totalUsers = options.users ?? 20
  const node = await ServerNode.create({
    id: 'latchkey-virtual-lock',
    network: { port: options.port, listeningAddressIpv4: '127.0.0.1', listeningAddressIpv6: '::1' },
    commissioning: { passcode: options.passcode, discriminator: options.discriminator },
    productDescription: { name: 'Latchkey virtual lock', deviceType: DoorLockDevice.deviceType },
    basicInformation: {
      vendorName: 'Latchkey',
      vendorId: VendorId(0xfff1),
      productName: 'Virtual door lock',
      productId: 0x8001,
      nodeLabel: 'Virtual door lock',
      serialNumber: `latchkey-${options.discriminator}`,
    },
  })
  const lock = new Endpoint(DoorLockDevice.with(KeypadLockServer), {
    id: 'lock',
    doorLock: {
      lockState: DoorLock.LockState.Locked,
      lockType: DoorLock.LockType.DeadBolt,
      actuatorEnabled: true,
      operatingMode: DoorLock.OperatingMode.Normal,
      numberOfTotalUsersSupported: totalUsers,
      numberOfPinUsersSupported: totalUsers,
      maxPinCodeLength: 10,
      minPinCodeLength: 4,
      numberOfCredentialsSupportedPerUser: 1,
      numberOfWeekDaySchedulesSupportedPerUser: 14,
      numberOfYearDaySchedulesSupportedPerUser: 1,
      credentialRulesSupport: { single: true },
      autoRelockTime: 0,
      wrongCodeEntryLimit: 5,
      userCodeTemporaryDisableTime: 60,
    },
  })
  await node.add(lock)
  await node.start()
  const pairingCode = node.state.commissioning.pairingCodes.manualPairingCode
  /**
   * A change made at the lock itself (its keypad, its own menu). It waits for the state's lock, as
   * a command from a controller may hold it; a synchronous write would fail while one is committed.
   */
  const atTheLock = <T>(purpose: string, change: (server: KeypadLockServer) => T) =>
    lock.act(purpose, async (agent) => {
      const server = agent.get(KeypadLockServer)
      await agent.context.transaction.addResources(server)
      await agent.context.transaction.begin()
      return change(server)
    })

  return {
    port: options.port,
    pairingCode,
    get commissioned() {
      return node.state.commissioning.commissioned
    },
    enterPin: async (pin) => atTheLock('keypad', (server) => server.enterPin(pin, clock(), timezone)),
    users: async () =>
      lock.act('users', (agent) => {
        const server = agent.get(KeypadLockServer)
        return server.auth.users.map((u) => ({
          userIndex: u.userIndex,
          userName: u.userName,
          userType: u.userType,
          userStatus: u.userStatus,
          hasPin: u.credentials.some((c) => c.credentialType === DoorLock.CredentialType.Pin),
        }))
      }),
    addUserLocally: async (user) => {
      await atTheLock('local-add', (server) => {
        const local = FabricIndex(0)
        server.auth.addUser({
          userIndex: user.userIndex,
          userName: `local${user.userIndex}`,
          userUniqueId: null,
          userStatus: DoorLock.UserStatus.OccupiedEnabled,
          userType: user.userType,
          credentialRule: DoorLock.CredentialRule.Single,
          credentials: [{ credentialType: DoorLock.CredentialType.Pin, credentialIndex: user.userIndex }],
          creatorFabricIndex: local,
          lastModifiedFabricIndex: local,
        })
        server.auth.addCredential(
          DoorLock.CredentialType.Pin,
          user.userIndex,
          Bytes.fromString(user.pin),
          local,
        )
        if (user.yearDay !== undefined) {
          server.state.yearDaySchedules = [
            ...server.state.yearDaySchedules,
            {
              yearDayIndex: 1,
              userIndex: user.userIndex,
              localStartTime: user.yearDay.start,
              localEndTime: user.yearDay.end,
            },
          ]
        }
      })
    },
    changePinLocally: async (userIndex, pin) => {
      await atTheLock('local-change', ({ auth }) => {
        const user = auth.findUser(userIndex)
        const cred = user?.credentials.find((c) => c.credentialType === DoorLock.CredentialType.Pin)
        if (user === undefined || cred === undefined) throw new Error(`no PIN user ${userIndex}`)
        // Programmed at the lock itself: no fabric made this change.
        auth.updateCredentialData(
          DoorLock.CredentialType.Pin,
          cred.credentialIndex,
          Bytes.fromString(pin),
          FabricIndex(0),
        )
        auth.replaceUser(userIndex, { ...user, lastModifiedFabricIndex: FabricIndex(0) })
      })
    },
    removeUserLocally: async (userIndex) => {
      await atTheLock('local-remove', (server) => {
        const user = server.auth.findUser(userIndex)
        for (const c of user?.credentials ?? [])
          server.auth.removeCredential(c.credentialType, c.credentialIndex)
        server.auth.removeUser(userIndex)
        server.state.weekDaySchedules = server.state.weekDaySchedules.filter((s) => s.userIndex !== userIndex)
        server.state.yearDaySchedules = server.state.yearDaySchedules.filter((s) => s.userIndex !== userIndex)
      })
    },
    close: () => node.close(),
  }
}
