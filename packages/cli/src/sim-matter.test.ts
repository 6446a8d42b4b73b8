/**
 * `latchkey sim-matter` as its own process, commissioned and programmed by a MatterController in
 * this one over loopback: the lock's keypad opens with the PIN set over Matter, and not once the
 * user is removed.
 */
import { type ChildProcess, spawn } from 'node:child_process'
import { mkdtempSync, rmSync } from 'node:fs'
import { tmpdir } from 'node:os'
import { dirname, join } from 'node:path'
import { fileURLToPath } from 'node:url'
import { DoorLock, MatterController } from '@latchkey/matter'
import { afterAll, beforeAll, describe, expect, it } from 'vitest'

const here = dirname(fileURLToPath(import.meta.url))
const BIN = join(here, '../bin/latchkey.js')
const PORT = 18630

describe('latchkey sim-matter', () => {
  const temp = mkdtempSync(join(tmpdir(), 'latchkey-sim-matter-'))
  let child: ChildProcess
  let controlUrl: string
  let controller: MatterController

  beforeAll(async () => {
    child = spawn(
      process.execPath,
      [
        BIN,
        'sim-matter',
        '--port',
        String(PORT),
        '--passcode',
        '20202021',
        '--discriminator',
        '3852',
        '--state-dir',
        join(temp, 'lock'),
      ],
      { stdio: ['ignore', 'pipe', 'pipe'] },
    )
    controlUrl = await new Promise<string>((resolve, reject) => {
      let out = ''
      const onData = (d: Buffer) => {
        out += d
        const m = /control API (http:\/\/\S+)\/sim\/lock/.exec(out)
        if (m?.[1] !== undefined) resolve(m[1])
      }
      child.stdout?.on('data', onData)
      child.stderr?.on('data', onData)
      child.on('exit', (code) => reject(new Error(`sim-matter exited with ${code}:\n${out}`)))
    })
    controller = await MatterController.start({ storagePath: join(temp, 'controller') })
  })
  afterAll(async () => {
    await controller?.close()
    if (child.exitCode === null) {
      const exited = new Promise((resolve) => child.once('exit', resolve))
      child.kill('SIGTERM')
      await exited
    }
    rmSync(temp, { recursive: true, force: true })
  })

  const keypad = async (digits: string) =>
    (
      await fetch(`${controlUrl}/sim/lock/keypad`, {
        method: 'POST',
        headers: { 'content-type': 'application/json' },
        body: JSON.stringify({ digits }),
      })
    ).json()

  it('is commissioned by its pairing code over its address, takes a PIN user, opens with it, and not once it is removed', async () => {
    const before = (await (await fetch(`${controlUrl}/sim/lock`)).json()) as { pairingCode: string }
    expect(before).toMatchObject({ commissioned: false, users: [] })

    // By the pairing code it prints (the end-to-end test commissions by passcode and discriminator).
    const { nodeId } = await controller.commission({
      pairingCode: before.pairingCode,
      address: `127.0.0.1:${PORT}`,
    })
    expect(
      await controller.putUser(nodeId, {
        userIndex: 3,
        userName: 'Cleaner',
        userUniqueId: 42,
        userType: DoorLock.UserType.UnrestrictedUser,
        pin: '583016',
      }),
    ).toBe('ok')
    expect(
      (await controller.users(nodeId)).map((u) => ({ index: u.userIndex, name: u.userName, pins: u.pins })),
    ).toEqual([{ index: 3, name: 'Cleaner', pins: [3] }])
    expect(await (await fetch(`${controlUrl}/sim/lock`)).json()).toMatchObject({
      commissioned: true,
      users: [{ userIndex: 3, userName: 'Cleaner', hasPin: true }],
    })
    expect(await keypad('583016')).toEqual({ result: 'unlocked', userIndex: 3 })

    await controller.clearUser(nodeId, 3)
    expect(await controller.users(nodeId)).toEqual([])
    expect(await keypad('583016')).toEqual({ result: 'denied', reason: 'unknown_code', userIndex: null })
  })

  it('refuses keypad input that is not digits with problem+json', async () => {
    const res = await fetch(`${controlUrl}/sim/lock/keypad`, {
      method: 'POST',
      headers: { 'content-type': 'application/json' },
      body: JSON.stringify({ digits: '12ab' }),
    })
    expect(res.status).toBe(400)
    expect(res.headers.get('content-type')).toBe('application/problem+json')
    expect(await res.json()).toMatchObject({ code: 'validation_failed' })
  })
})
