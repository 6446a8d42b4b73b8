/**
 * `latchkey sim-matter`: a virtual Matter door lock in a process of its own (SPEC §12), for tests and
 * demos. The lock speaks Matter on UDP `port` (loopback); its users and credentials live in
 * `stateDir` as a real lock keeps them, so a restarted process finds them again. Its keypad is a small
 * control API on loopback (no authentication): `GET /sim/lock` (pairing code, commissioned, users)
 * and `POST /sim/lock/keypad {digits}` → `{result:'unlocked'|'denied', reason?, userIndex}`.
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
  const lock = await startVirtualLock({
    port: options.port,
    passcode: options.passcode,
    discriminator: options.discriminator,
    storagePath: options.stateDir,
    ...(options.timezone === undefined ? {} : { timezone: options.timezone }),
  })
  const handle = async (req: IncomingMessage, res: ServerResponse) => {
    if (req.method === 'GET' && req.url === '/sim/lock') {
      return send(res, 200, {
        pairingCode: lock.pairingCode,
        commissioned: lock.commissioned,
        users: await lock.users(),
      })
    }
    if (req.method === 'POST' && req.url === '/sim/lock/keypad') {
      let body: unknown
      try {
        body = await readJson(req)
      } catch (error) {
        return refuse(res, 'validation_failed', `invalid body: ${(error as Error).message}`)
      }
      const digits = (body as { digits?: unknown } | null)?.digits
      if (typeof digits !== 'string' || !/^[0-9]{1,32}$/.test(digits)) {
        return refuse(res, 'validation_failed', 'invalid digits: 0-9 only, 1 to 32 of them')
      }
      return send(res, 200, await lock.enterPin(digits))
    }
    return refuse(res, 'not_found', `no route ${req.method} ${req.url}`)
  }
  const control = createServer((req, res) => {
    handle(req, res).catch(() => send(res, 500, problem('internal', 'internal error'), PROBLEM_CONTENT_TYPE))
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
