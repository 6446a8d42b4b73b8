/**
 * The broker the server and its gateways use (SPEC §1, §2, §10):
 * - embedded (default): aedes inside the server process, on `--mqtt-port` (default 1884, so that it
 *   never collides with a Mosquitto already on 1883; when 1884 is taken too and no port was asked
 *   for, a free port is picked and logged). Gateways log in with their id and token, checked against
 *   the store; the server's own client with a random credential made at each start.
 * - `MQTT_URL` (a real Mosquitto with the dynamic-security plugin): the URL's user and password are
 *   a dynamic-security admin; through it the server makes its own login (allowed on every topic) and,
 *   for each gateway registered later, a login and a role confined to that gateway's topics. With a
 *   login that is no admin, the server uses it for itself and gateway logins are made by hand.
 *   Shared subscriptions let several server processes split the work.
 */
import { randomBytes, X509Certificate } from 'node:crypto'
import type { PeerCertificate } from 'node:tls'
import { LatchkeyError } from '@latchkey/core'
import mqtt from 'mqtt'
import type { BrokerPrincipal } from '../broker/index.ts'
import { type EmbeddedBroker, isPortInUse, MosquittoDynsec, startEmbeddedBroker } from '../broker/index.ts'
import { hashToken, secretsEqual } from '../credentials.ts'
import type { Db } from '../store/index.ts'
import type { GatewayRegistrar } from './broker-access.ts'
import type { ChannelLogger } from './channel-context.ts'
import { checkGatewayLogin } from './gateways.ts'

export const DEFAULT_EMBEDDED_MQTT_PORT = 1884
/** The group of the server's shared subscriptions on a real broker. */
export const SHARED_GROUP = 'latchkey'

/**
 * TLS options of the server's own MQTT clients (spread into mqtt.connect): the certificate
 * authorities to trust beyond the system's (LATCHKEY_MQTT_CA), and for the embedded broker its own
 * certificate, pinned, whatever host name it was made for.
 */
export interface MqttClientTls {
  ca?: Buffer[]
  checkServerIdentity?: (host: string, peer: PeerCertificate) => Error | undefined
}

export interface ServerMqtt {
  readonly kind: 'embedded' | 'external'
  /** Where the server's own client connects. */
  readonly url: string
  /** How the server's own clients speak TLS to it (empty for plain MQTT). */
  readonly tls: MqttClientTls
  readonly login: { username: string; password: string }
  /** `$share/<group>/` for the server's subscriptions, or null (the embedded broker has none). */
  readonly sharedGroup: string | null
  readonly registrar: GatewayRegistrar
  /** Where gateways connect (no credentials); `hostname` is the host a gateway reached the server at. */
  publicUrl(hostname?: string): string
  close(): Promise<void>
}

const WILDCARD_HOSTS = new Set(['0.0.0.0', '::', ''])

function urlHost(host: string): string {
  return host.includes(':') ? `[${host}]` : host
}

export interface EmbeddedMqttOptions {
  db: Db
  /** Where it listens (default 127.0.0.1). */
  host?: string
  /** Exactly this port (refused when taken); without it 1884, or a free port when 1884 is taken. */
  port?: number
  /** Serve `mqtts://` with this certificate and key (PEM; --mqtt-tls-cert, --mqtt-tls-key). */
  tls?: { cert: Buffer; key: Buffer }
  log: ChannelLogger
}

/** The server's own client trusts exactly the embedded broker's certificate (and no host name check). */
function pinned(cert: Buffer): MqttClientTls {
  let raw: Buffer
  try {
    raw = new X509Certificate(cert).raw
  } catch (cause) {
    throw new LatchkeyError(
      'service_unavailable',
      'the MQTT TLS certificate (--mqtt-tls-cert) is not a PEM certificate',
      {
        cause,
      },
    )
  }
  return {
    ca: [cert],
    checkServerIdentity: (_host, peer) =>
      peer.raw?.equals(raw)
        ? undefined
        : new Error('the broker does not present the embedded broker’s certificate'),
  }
}

export async function startEmbeddedMqtt(options: EmbeddedMqttOptions): Promise<ServerMqtt> {
  const host = options.host ?? '127.0.0.1'
  const login = {
    username: `latchkey-server-${randomBytes(6).toString('hex')}`,
    password: randomBytes(32).toString('base64url'),
  }
  // A token rotated or a gateway removed in this process counts before the store's change commits,
  // so no login with the old token slips in between (the SHA-256 of the new token, or null: removed).
  const changed = new Map<string, string | null>()
  const authenticate = async (username: string, password: string): Promise<BrokerPrincipal | null> => {
    if (username === login.username) return secretsEqual(password, login.password) ? { kind: 'server' } : null
    const override = changed.get(username)
    const accepted =
      override === undefined
        ? await checkGatewayLogin(options.db, username, password)
        : override !== null && secretsEqual(hashToken(password), override)
    return accepted ? { kind: 'gateway', gatewayId: username } : null
  }
  const tls = options.tls === undefined ? {} : pinned(options.tls.cert)
  const common = { host, authenticate, ...(options.tls === undefined ? {} : { tls: options.tls }) }
  let broker: EmbeddedBroker
  if (options.port !== undefined) {
    broker = await startEmbeddedBroker({ ...common, port: options.port })
  } else {
    try {
      broker = await startEmbeddedBroker({ ...common, port: DEFAULT_EMBEDDED_MQTT_PORT })
    } catch (error) {
      if (!isPortInUse(error)) throw error
      broker = await startEmbeddedBroker({ ...common, port: 0 })
      options.log.warn(
        { port: broker.port },
        `port ${DEFAULT_EMBEDDED_MQTT_PORT} is taken: the embedded MQTT broker listens on ${broker.port} instead`,
      )
    }
  }
  const connectHost = WILDCARD_HOSTS.has(host) ? '127.0.0.1' : host
  const scheme = options.tls === undefined ? 'mqtt' : 'mqtts'
  return {
    kind: 'embedded',
    url: `${scheme}://${urlHost(connectHost)}:${broker.port}`,
    tls,
    login,
    sharedGroup: null,
    registrar: {
      register: async (gatewayId, token) => {
        changed.set(gatewayId, hashToken(token))
        broker.disconnect(gatewayId)
      },
      remove: async (gatewayId) => {
        changed.set(gatewayId, null)
        broker.disconnect(gatewayId)
      },
    },
    publicUrl: (hostname) =>
      `${scheme}://${urlHost(WILDCARD_HOSTS.has(host) ? (hostname ?? connectHost) : host)}:${broker.port}`,
    close: () => broker.close(),
  }
}

export interface ExternalMqttOptions {
  /** `mqtt://user:password@host:port` (MQTT_URL). */
  url: string
  /** Where gateways connect, when not the same URL without credentials (LATCHKEY_MQTT_PUBLIC_URL). */
  publicUrl?: string
  /** The server's own login, made through dynamic security when MQTT_URL's login is its admin. */
  serverLogin: { username: string; password: string }
  /** Certificate authorities to trust for `mqtts://` beyond the system's (LATCHKEY_MQTT_CA, PEM). */
  ca?: Buffer
  log: ChannelLogger
}

/** Whether this login is accepted by the broker now. */
async function canLogIn(
  url: string,
  login: { username: string; password: string },
  tls: MqttClientTls,
): Promise<boolean> {
  try {
    const client = await mqtt.connectAsync(
      url,
      {
        ...tls,
        ...login,
        clientId: `latchkey-probe-${randomBytes(6).toString('hex')}`,
        reconnectPeriod: 0,
        connectTimeout: 5000,
      },
      false,
    )
    await client.endAsync(true)
    return true
  } catch {
    return false
  }
}

export async function connectExternalMqtt(options: ExternalMqttOptions): Promise<ServerMqtt> {
  let parsed: URL
  try {
    parsed = new URL(options.url)
  } catch (cause) {
    throw new LatchkeyError('service_unavailable', 'MQTT_URL is not a URL (mqtt://user:password@host:port)', {
      cause,
    })
  }
  if (!['mqtt:', 'mqtts:'].includes(parsed.protocol)) {
    throw new LatchkeyError('service_unavailable', 'MQTT_URL must start with mqtt:// or mqtts://')
  }
  const adminLogin = {
    username: decodeURIComponent(parsed.username),
    password: decodeURIComponent(parsed.password),
  }
  if (adminLogin.username === '') {
    throw new LatchkeyError(
      'service_unavailable',
      "MQTT_URL must carry the server's login (mqtt://user:password@host:port)",
    )
  }
  parsed.username = ''
  parsed.password = ''
  const bare = parsed.toString().replace(/\/$/, '')

  const tls: MqttClientTls = options.ca === undefined ? {} : { ca: [options.ca] }
  let dynsec: MosquittoDynsec | null = null
  try {
    dynsec = await MosquittoDynsec.connect({ url: bare, ...adminLogin, tls })
  } catch (error) {
    if (!(error instanceof LatchkeyError && error.code === 'forbidden')) throw error
    options.log.warn(
      { url: bare },
      "MQTT_URL's login is not a dynamic-security admin: the server uses it for itself, and gateway logins must be created on the broker by hand",
    )
  }
  // As a dynamic-security admin the server keeps a login of its own (the same in every server
  // process: its password is derived from the master key), created once and left alone after that:
  // changing a Mosquitto client's password or roles disconnects every session of it.
  let login = adminLogin
  if (dynsec !== null) {
    login = options.serverLogin
    const existing = await dynsec.send({ command: 'getClient', username: login.username })
    if (existing.error !== undefined || !(await canLogIn(bare, login, tls))) {
      await dynsec.ensureServerClient(login.username, login.password)
    }
  }
  const admin = dynsec
  return {
    kind: 'external',
    url: bare,
    tls,
    login,
    sharedGroup: SHARED_GROUP,
    registrar: {
      register: async (gatewayId, token) => {
        if (admin === null) {
          options.log.warn(
            { gatewayId },
            'change this gateway’s login on the broker by hand: the server is no dynamic-security admin',
          )
        }
        await admin?.upsertGateway(gatewayId, token)
      },
      remove: async (gatewayId) => {
        if (admin === null) {
          options.log.warn(
            { gatewayId },
            'remove this gateway’s login from the broker by hand: the server is no dynamic-security admin',
          )
        }
        await admin?.removeGateway(gatewayId)
      },
    },
    publicUrl: () => options.publicUrl ?? bare,
    close: async () => {
      await admin?.close()
    },
  }
}
