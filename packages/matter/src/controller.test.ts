import { createSocket } from 'node:dgram'
import { mkdtempSync, rmSync } from 'node:fs'
import { networkInterfaces, tmpdir } from 'node:os'
import { join } from 'node:path'
import { DoorLock } from '@matter/main/clusters/door-lock'
import { afterAll, beforeAll, describe, expect, it } from 'vitest'
import { type LockActivity, MatterController } from './controller.ts'
import { startVirtualLock, type VirtualLock } from './virtual-lock.ts'

const CONTROLLER_PORT = 18621
/** An IPv4 address of this machine off loopback, if it has one. */
const external = Object.values(networkInterfaces())
  .flat()
  .find((a) => a !== undefined && a.family === 'IPv4' && !a.internal)?.address

describe('MatterController against the virtual lock', () => {
  let lock: VirtualLock
  let controller: MatterController
  let dir: string
  const activity: LockActivity[] = []
  beforeAll(async () => {
    dir = mkdtempSync(join(tmpdir(), 'latchkey-mctl-'))
    lock = await startVirtualLock({ port: 18620, passcode: 20202021, discriminator: 3851, storagePath: dir })
    // Given an interface (here loopback's, so nothing is announced on a real network), the
    // controller listens on every address, as it must to reach a lock on the premises' network.
    controller = await MatterController.start({
      storagePath: dir,
      port: CONTROLLER_PORT,
      networkInterface: 'lo',
      events: { activity: (_node, a) => activity.push(a) },
    })
  })
  afterAll(async () => {
    await controller?.close()
    await lock?.close()
    rmSync(dir, { recursive: true, force: true })
  })

  it('commissions, puts a PIN user, reads it back, opens with it (and hears the event), removes it', async () => {
    const { nodeId } = await controller.commission({
      passcode: 20202021,
      discriminator: 3851,
      address: '127.0.0.1:18620',
    })
    expect(lock.commissioned).toBe(true)
    expect(
      await controller.putUser(nodeId, {
        userIndex: 1,
        userName: 'Cleaner',
        userUniqueId: 7,
        userType: DoorLock.UserType.UnrestrictedUser,
        pin: '482913',
      }),
    ).toBe('ok')
    const users = await controller.users(nodeId)
    expect(users.map((u) => [u.userIndex, u.userName, u.pins])).toEqual([[1, 'Cleaner', [1]]])
    expect(await lock.enterPin('482913')).toEqual({ result: 'unlocked', userIndex: 1 })
    // The lock's LockOperation event reaches the controller through its subscription (bounded wait).
    for (let i = 0; i < 200 && activity.length === 0; i++) await new Promise((r) => setTimeout(r, 50))
    expect(activity).toMatchObject([{ type: 'unlocked', userIndex: 1 }])
    await controller.clearUser(nodeId, 1)
    expect(await controller.users(nodeId)).toEqual([])
    expect(await lock.enterPin('482913')).toMatchObject({ result: 'denied' })
  })

  it.skipIf(external === undefined)(
    'listens on every address when given an interface (no packet sent)',
    async () => {
      const socket = createSocket('udp4')
      const bound = await new Promise<string>((resolve) => {
        socket.once('error', (error: NodeJS.ErrnoException) => resolve(error.code ?? 'error'))
        socket.bind(CONTROLLER_PORT, external, () => resolve('bound'))
      })
      try {
        socket.close()
      } catch {
        // a socket whose bind failed is closed already
      }
      expect(bound).toBe('EADDRINUSE')
    },
  )
})
