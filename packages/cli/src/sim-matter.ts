/**
 * `latchkey sim-matter`: a virtual Matter door lock in a process of its own (SPEC §12), for tests and
 * demos. The lock speaks Matter on UDP `port` (loopback); its users and credentials live in
 * `stateDir` as a real lock keeps them, so a restarted process finds them again. Its keypad is a small
 * control API on loopback (no authentication): `GET /sim/lock` (pairing code, commissioned, users),
 * `POST /sim/lock/keypad {digits}` → `{result:'unlocked'|'denied', reason?, userIndex}`,
 * `POST /sim/lock/clock {advanceMs}` (moves the lock's clock ahead) and `POST /sim/lock/users/{index}
 * {pin}` (a PIN changed at the lock itself, by no fabric: what read-back must notice).
 */
import { createServer, type IncomingMessage, type ServerResponse } from 'node:http'
import type { AddressInfo } from 'node:net'
import { PROBLEM_CONTENT_TYPE, problem } from '@latchkey/core'
import { startVirtualLock, type VirtualLock } from '@latchkey/matter'

export interface SimMatterOptions {
  port: number
  passcode: number
  discriminator: number
  stateDir: string
  controlPort: number
  controlHost: string
  timezone?: string
}

export interface RunningSimMatter {
  lock: VirtualLock
  controlUrl: string
  close(): Promise<void>
}

const MAX_BODY = 4096

function send(res: ServerResponse, status: number, body: unknown, type = 'application/json') {
  res.writeHead(status, { 'content-type': type }).end(JSON.stringify(body))
}

function refuse(res: ServerResponse, code: 'validation_failed' | 'not_found', detail: string) {
  const body = problem(code, detail)
  send(res, body.status, body, PROBLEM_CONTENT_TYPE)
}

async function readJson(req: IncomingMessage): Promise<unknown> {
  let size = 0
  const chunks: Buffer[] = []
  for await (const chunk of req) {
    size += (chunk as Buffer).length
    if (size > MAX_BODY) throw new Error('the body is too large')
    chunks.push(chunk as Buffer)
  }
  return JSON.parse(Buffer.concat(chunks).toString('utf8'))
}

export async function runSimMatter(options: SimMatterOptions): Promise<RunningSimMatter> {
  // The lock's clock: the system's, moved ahead by `POST /sim/lock/clock` (to reach a code's window).
  let offsetMs = 0
  const now = () => Date.now() + offsetMs
  const lock = await startVirtualLock({
    clock: now,
    port: options.port,
    passcode: options.passcode,
    discriminator: options.discriminator,
    storagePath: options.stateDir,
    ...(options.timezone === undefined ? {} : { timezone: options.timezone }),
  })
  /** The body's fields; null (and the request refused) when it is not a JSON object. */
  const body = async (req: IncomingMessage, res: ServerResponse): Promise<Record<string, unknown> | null> => {
    try {
      const value = await readJson(req)
      if (typeof value === 'object' && value !== null && !Array.isArray(value))
        return value as Record<string, unknown>
      refuse(res, 'validation_failed', 'invalid body: a JSON object')
    } catch (error) {
      refuse(res, 'validation_failed', `invalid body: ${(error as Error).message}`)
    }
    return null
  }
  const handle = async (req: IncomingMessage, res: ServerResponse) => {
    if (req.method === 'GET' && req.url === '/sim/lock') {
      let users: Awaited<ReturnType<VirtualLock['users']>>
      try {
        users = await lock.users()
      } catch {
        // Its last fabric removed, the lock resets itself and opens for commissioning again.
        const body = problem('service_unavailable', 'the lock is restarting; ask again')
        return send(res, body.status, body, PROBLEM_CONTENT_TYPE)
      }
      return send(res, 200, { pairingCode: lock.pairingCode, commissioned: lock.commissioned, users })
    }
    if (req.method === 'POST' && req.url === '/sim/lock/keypad') {
      const fields = await body(req, res)
      if (fields === null) return
      const { digits } = fields
      if (typeof digits !== 'string' || !/^[0-9]{1,32}$/.test(digits)) {
        return refuse(res, 'validation_failed', 'invalid digits: 0-9 only, 1 to 32 of them')
      }
      return send(res, 200, await lock.enterPin(digits))
    }
    if (req.method === 'POST' && req.url === '/sim/lock/clock') {
      const fields = await body(req, res)
      if (fields === null) return
      const { advanceMs } = fields
      if (typeof advanceMs !== 'number' || !Number.isSafeInteger(advanceMs) || advanceMs < 0)
        return refuse(
          res,
          'validation_failed',
          'invalid advanceMs: a whole number of milliseconds, 0 or more',
        )
      offsetMs += advanceMs
      return send(res, 200, { nowMs: now() })
    }
    const local = /^\/sim\/lock\/users\/(\d{1,5})$/.exec(req.url ?? '')
    if (req.method === 'POST' && local !== null) {
      const fields = await body(req, res)
      if (fields === null) return
      const { pin } = fields
      if (typeof pin !== 'string' || !/^[0-9]{4,10}$/.test(pin))
        return refuse(res, 'validation_failed', 'invalid pin: 4 to 10 digits')
      try {
        await lock.changePinLocally(Number(local[1]), pin)
      } catch (error) {
        return refuse(res, 'not_found', (error as Error).message)
      }
      return send(res, 200, { users: await lock.users() })
    }
    return refuse(res, 'not_found', `no route ${req.method} ${req.url}`)
  }
  const control = createServer((req, res) => {
    handle(req, res).catch((error: unknown) => {
      process.stderr.write(`${req.method} ${req.url} failed: ${(error as Error).stack ?? String(error)}\n`)
      send(res, 500, problem('internal', 'internal error'), PROBLEM_CONTENT_TYPE)
    })
  })
  try {
    await new Promise<void>((resolve, reject) => {
      control.once('error', reject)
      control.listen(options.controlPort, options.controlHost, () => resolve())
    })
  } catch (error) {
    await lock.close()
    throw error
  }
  const address = control.address() as AddressInfo
  return {
    lock,
    controlUrl: `http://${options.controlHost}:${address.port}`,
    close: async () => {
      await new Promise<void>((resolve) => control.close(() => resolve()))
      await lock.close()
    },
  }
}
