/** A webhook receiver on loopback (node:http) for the tests: records each request and what it answered. */
import { createServer, type IncomingHttpHeaders } from 'node:http'
import type { AddressInfo } from 'node:net'

export interface ReceivedRequest {
  url: string
  headers: IncomingHttpHeaders
  body: string
  /** What the receiver answered. */
  status: number
}

export interface Receiver {
  readonly url: string
  readonly requests: ReceivedRequest[]
  /** The requests it answered 2xx. */
  accepted(): ReceivedRequest[]
  /** Requests received and not yet answered. */
  inFlight(): number
  /** The most requests with one `webhook-id` it was answering at the same time. */
  mostAtOnce(): number
  close(): Promise<void>
}

/**
 * `answer(n)` is the status of the n-th request (0-based); default 200. `delayMs` waits before
 * answering, `gate` holds every answer until it resolves.
 */
export async function startReceiver(
  options: { answer?: (n: number) => number; delayMs?: number; gate?: Promise<void> } = {},
): Promise<Receiver> {
  const requests: ReceivedRequest[] = []
  let count = 0
  let inFlight = 0
  let mostAtOnce = 0
  const open = new Map<string, number>()
  const server = createServer((req, res) => {
    const chunks: Buffer[] = []
    const id = String(req.headers['webhook-id'])
    inFlight += 1
    open.set(id, (open.get(id) ?? 0) + 1)
    mostAtOnce = Math.max(mostAtOnce, open.get(id)!)
    req.on('data', (chunk: Buffer) => chunks.push(chunk))
    req.on('end', () => {
      const status = options.answer?.(count++) ?? 200
      const reply = () => {
        inFlight -= 1
        open.set(id, open.get(id)! - 1)
        requests.push({
          url: req.url ?? '',
          headers: req.headers,
          body: Buffer.concat(chunks).toString('utf8'),
          status,
        })
        res.writeHead(status, { 'content-type': 'text/plain' }).end(status < 300 ? 'ok' : 'not now')
      }
      const gate = options.gate ?? Promise.resolve()
      void gate.then(() => (options.delayMs === undefined ? reply() : setTimeout(reply, options.delayMs)))
    })
  })
  await new Promise<void>((resolve) => server.listen(0, '127.0.0.1', resolve))
  const { port } = server.address() as AddressInfo
  return {
    url: `http://127.0.0.1:${port}/hooks/latchkey`,
    requests,
    accepted: () => requests.filter((r) => r.status >= 200 && r.status < 300),
    inFlight: () => inFlight,
    mostAtOnce: () => mostAtOnce,
    close: () =>
      new Promise<void>((resolve) => {
        server.closeAllConnections()
        server.close(() => resolve())
      }),
  }
}
