/**
 * The demo's virtual Matter lock (`latchkey serve --demo --demo-matter`, or LATCHKEY_DEMO_MATTER=1):
 * a matter.js door lock in the demo's process, on the demo's simulated clock and in its time zone,
 * listening on loopback only, on a free UDP port. Its fabrics, users and schedules live in the data
 * directory's Matter storage, beside the server's controller (matter.js keeps one storage path per
 * process); its port, passcode, discriminator and the id the server gave it in
 * `<dataDir>/sim/matter-lock.json`, so a second start finds it where it was, commissioned, with
 * its users.
 */
import { randomInt } from 'node:crypto'
import { mkdirSync, readFileSync, writeFileSync } from 'node:fs'
import { dirname, join } from 'node:path'
import type { KeypadAnswer } from '@latchkey/gateway'
import {
  freeUdpPort,
  type KeypadResult,
  startVirtualLock,
  udpPortFree,
  type VirtualLock,
} from '@latchkey/matter'
import { matterStoragePath } from '@latchkey/server'

interface KeptMatterLock {
  port: number
  passcode: number
  discriminator: number
  lockId: string | null
}

/** Passcodes Matter forbids (all one digit, and the two runs). */
const FORBIDDEN_PASSCODES = new Set([
  ...Array.from({ length: 10 }, (_, d) => Number(String(d).repeat(8))),
  12345678,
  87654321,
])

function newPasscode(): number {
  for (;;) {
    const passcode = randomInt(1, 99_999_999)
    if (!FORBIDDEN_PASSCODES.has(passcode)) return passcode
  }
}

function readKept(path: string): KeptMatterLock | null {
  try {
    const kept = JSON.parse(readFileSync(path, 'utf8')) as Partial<KeptMatterLock>
    const { port, passcode, discriminator, lockId } = kept
    if (typeof port !== 'number' || typeof passcode !== 'number' || typeof discriminator !== 'number')
      return null
    return { port, passcode, discriminator, lockId: typeof lockId === 'string' ? lockId : null }
  } catch {
    return null
  }
}

/**
 * The lock's words at its keypad, as the simulated locks say them: a user the lock disabled is a
 * one-time code used already (the server reads the lock's DisabledUserDenied the same way).
 */
function keypadAnswer(result: KeypadResult): KeypadAnswer {
  if (result.result === 'unlocked') return { result: 'unlocked' }
  return { result: 'denied', reason: result.reason === 'disabled' ? 'already_used' : result.reason }
}

export interface DemoMatterLock {
  lock: VirtualLock
  /** `127.0.0.1:port`: where the server reaches it. */
  address: string
  passcode: number
  discriminator: number
  /** The id the server gave it (null before its first commissioning). */
  lockId: string | null
  /** Keeps the id the server gave it, for the next start. */
  keep(lockId: string): void
  /** A PIN typed on its keypad, answered as the simulator's keypads answer. */
  enterPin(digits: string): Promise<KeypadAnswer>
}

export async function startDemoMatterLock(options: {
  dataDir: string
  clock: () => number
  timezone: string
}): Promise<DemoMatterLock> {
  const keptPath = join(options.dataDir, 'sim', 'matter-lock.json')
  const kept = readKept(keptPath)
  // Its old port when free (the server's controller knows it there), else a new one.
  const port = kept !== null && (await udpPortFree(kept.port)) ? kept.port : await freeUdpPort()
  const state: KeptMatterLock = {
    port,
    passcode: kept?.passcode ?? newPasscode(),
    discriminator: kept?.discriminator ?? randomInt(0, 4096),
    lockId: kept?.lockId ?? null,
  }
  const write = () => {
    mkdirSync(dirname(keptPath), { recursive: true })
    writeFileSync(keptPath, `${JSON.stringify(state)}\n`, { mode: 0o600 })
  }
  write()
  const lock = await startVirtualLock({
    port,
    passcode: state.passcode,
    discriminator: state.discriminator,
    storagePath: matterStoragePath(options.dataDir),
    timezone: options.timezone,
    clock: options.clock,
  })
  return {
    lock,
    address: `127.0.0.1:${port}`,
    passcode: state.passcode,
    discriminator: state.discriminator,
    lockId: state.lockId,
    keep(lockId) {
      state.lockId = lockId
      write()
    },
    enterPin: async (digits) => keypadAnswer(await lock.enterPin(digits)),
  }
}
