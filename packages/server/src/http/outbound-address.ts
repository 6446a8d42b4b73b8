/**
 * The outbound address rule (SPEC §13): a request the server makes on a user's behalf (a booking
 * calendar's feed, a webhook) never reaches a loopback, link-local or private address, unless
 * `LATCHKEY_WEBHOOK_ALLOW_PRIVATE=1` (tests and the demo). The name is resolved first, every address
 * is checked with ipaddr.js, and the connection goes to the address that was checked (so a name that
 * answers differently the second time cannot slip through).
 */
import { lookup } from 'node:dns/promises'
import { request as httpRequest } from 'node:http'
import { request as httpsRequest } from 'node:https'
import type { LookupFunction } from 'node:net'
import ipaddr from 'ipaddr.js'

/** Whether the setting lets requests reach this machine and private networks. */
export function allowPrivateTargets(env: Record<string, string | undefined> = process.env): boolean {
  return env.LATCHKEY_WEBHOOK_ALLOW_PRIVATE === '1'
}

/** Why the address may not be reached, or null when it is a public unicast address. */
export function refusedAddressReason(address: string): string | null {
  if (!ipaddr.isValid(address)) return `${address} is not an IP address`
  let parsed = ipaddr.parse(address)
  if (parsed.kind() === 'ipv6' && (parsed as ipaddr.IPv6).isIPv4MappedAddress()) {
    parsed = (parsed as ipaddr.IPv6).toIPv4Address()
  }
  const range = parsed.range()
  return range === 'unicast' ? null : `${address} is ${RANGE_WORDS[range] ?? `a ${range} address`}`
}

/** ipaddr.js range names as a person reads them. */
const RANGE_WORDS: Record<string, string> = {
  loopback: 'a loopback address (this machine)',
  linkLocal: 'a link-local address',
  private: 'a private address',
  uniqueLocal: 'a private (unique local) address',
  carrierGradeNat: 'a carrier-grade NAT address',
  unspecified: 'an unspecified address',
  broadcast: 'a broadcast address',
  multicast: 'a multicast address',
  reserved: 'a reserved address',
}

export class OutboundRefused extends Error {
  override readonly name = 'OutboundRefused'
}

/** Answers every address of a name (default: the system resolver). */
export type Resolve = (host: string) => Promise<Array<{ address: string; family: number }>>

const systemResolve: Resolve = (host) => lookup(host, { all: true })

/** Resolves `host` and checks every address; answers the first one to connect to. */
export async function checkedAddress(
  host: string,
  allowPrivate: boolean,
  resolve: Resolve = systemResolve,
): Promise<{ address: string; family: number }> {
  const bare = host.startsWith('[') ? host.slice(1, -1) : host
  const found = ipaddr.isValid(bare)
    ? [{ address: bare, family: ipaddr.parse(bare).kind() === 'ipv6' ? 6 : 4 }]
    : await resolve(bare)
  if (found.length === 0) throw new OutboundRefused(`${host} does not resolve`)
  if (!allowPrivate) {
    for (const entry of found) {
      const reason = refusedAddressReason(entry.address)
      if (reason !== null) {
        throw new OutboundRefused(
          `${host} is refused: ${reason} (only public addresses are fetched; LATCHKEY_WEBHOOK_ALLOW_PRIVATE=1 allows others)`,
        )
      }
    }
  }
  return found[0]!
}

export interface OutboundResponse {
  status: number
  body: string
}

export interface OutboundOptions {
  allowPrivate: boolean
  method?: 'GET' | 'POST'
  headers?: Record<string, string>
  body?: string
  /** The whole request, connection to last byte (default 10 s). */
  timeoutMs?: number
  maxBytes?: number
  resolve?: Resolve
  /** Aborts the request (the server is stopping). */
  signal?: AbortSignal
}

/** The scheme must be http(s); throws OutboundRefused otherwise. */
export function outboundUrl(url: string): URL {
  const target = new URL(url)
  if (target.protocol !== 'http:' && target.protocol !== 'https:') {
    throw new OutboundRefused(`${target.protocol} URLs are not fetched; use http or https`)
  }
  return target
}

/**
 * A request to a public http(s) URL under the rule, with a time limit and a size limit. Throws
 * OutboundRefused for an address the rule refuses (before any socket exists), an Error for what went
 * wrong on the way.
 */
export async function outboundRequest(url: string, options: OutboundOptions): Promise<OutboundResponse> {
  const target = outboundUrl(url)
  const { address, family } = await checkedAddress(target.hostname, options.allowPrivate, options.resolve)
  // The socket connects to the checked address whatever the name resolves to now.
  const pinned: LookupFunction = (_host, opts, callback) => {
    if ((opts as { all?: boolean }).all) callback(null, [{ address, family }])
    else callback(null, address, family)
  }
  const request = target.protocol === 'https:' ? httpsRequest : httpRequest
  const maxBytes = options.maxBytes ?? 5_000_000
  const timeoutMs = options.timeoutMs ?? 10_000
  return new Promise((resolve, reject) => {
    const req = request(
      target,
      {
        method: options.method ?? 'GET',
        lookup: pinned,
        timeout: timeoutMs,
        ...(options.signal === undefined ? {} : { signal: options.signal }),
        headers: { 'user-agent': 'Latchkey', ...options.headers },
      },
      (res) => {
        const chunks: Buffer[] = []
        let size = 0
        res.on('data', (chunk: Buffer) => {
          size += chunk.length
          if (size > maxBytes) {
            req.destroy(new Error(`the answer is larger than ${maxBytes} bytes`))
            return
          }
          chunks.push(chunk)
        })
        res.on('end', () =>
          resolve({ status: res.statusCode ?? 0, body: Buffer.concat(chunks).toString('utf8') }),
        )
        res.on('error', reject)
      },
    )
    const deadline = setTimeout(
      () => req.destroy(new Error(`no answer within ${timeoutMs / 1000} s`)),
      timeoutMs,
    )
    req.on('close', () => clearTimeout(deadline))
    req.on('timeout', () => req.destroy(new Error(`no answer within ${timeoutMs / 1000} s`)))
    req.on('error', reject)
    req.end(options.body)
  })
}

/** GET of a public http(s) URL under the rule (a booking calendar's feed). */
export function outboundGet(
  url: string,
  options: { allowPrivate: boolean; timeoutMs?: number; maxBytes?: number },
): Promise<OutboundResponse> {
  return outboundRequest(url, { ...options, headers: { accept: 'text/calendar, */*' } })
}
