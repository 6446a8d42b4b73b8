/**
 * The MQTT broker inside the server process (SPEC §1: `npm start` needs nothing installed): aedes
 * (MQTT 3.1.1, in-memory sessions) behind a TCP server from node:net, with the topic policy of
 * policy.ts. It listens on loopback by default; port 0 picks a free port. A port already taken (a
 * Mosquitto on 1883) is refused with a clear error, so the caller can choose another.
 */
import { createServer, type Server, type Socket } from 'node:net'
import { createServer as createTlsServer } from 'node:tls'
import { LatchkeyError } from '@latchkey/core'
import { Aedes, type AuthenticateError, type Client } from 'aedes'
import { type BrokerAuthenticate, type BrokerPrincipal, mayUseClientId, mayUseTopic } from './policy.ts'

export interface EmbeddedBrokerOptions {
  host?: string
  port: number
  authenticate: BrokerAuthenticate
  /** Serve MQTT over TLS (`mqtts://`) with this certificate and key (PEM); a plain client is refused. */
  tls?: { cert: string | Buffer; key: string | Buffer }
}

export interface EmbeddedBroker {
  /** `mqtt://host:port` (`mqtts://` with TLS) with the port actually bound. */
  readonly url: string
  readonly host: string
  readonly port: number
  /** Clients connected and authenticated right now. */
  connectedClients(): number
  /** Ends the connection of this client id now, if there is one (its last will is published). */
  disconnect(clientId: string): boolean
  /** Closes every connection and the listener. */
  close(): Promise<void>
}

/** MQTT 3.1.1 CONNACK return codes. */
const IDENTIFIER_REJECTED = 2
const BAD_USERNAME_OR_PASSWORD = 4
const NOT_AUTHORIZED = 5

function refusal(message: string, returnCode: number): AuthenticateError {
  return Object.assign(new Error(message), { returnCode }) as AuthenticateError
}

/** True when `error` (or its cause) says the address is already in use. */
export function isPortInUse(error: unknown): boolean {
  let current: unknown = error
  for (let depth = 0; depth < 4 && current instanceof Error; depth += 1) {
    if ((current as NodeJS.ErrnoException).code === 'EADDRINUSE') return true
    if (
      current instanceof LatchkeyError &&
      (current.details as { reason?: string } | undefined)?.reason === 'port_in_use'
    )
      return true
    current = current.cause
  }
  return false
}

function listen(server: Server, host: string, port: number): Promise<number> {
  return new Promise((resolve, reject) => {
    const onError = (error: NodeJS.ErrnoException) => {
      server.off('listening', onListening)
      if (error.code === 'EADDRINUSE') {
        reject(
          new LatchkeyError(
            'service_unavailable',
            `cannot start the embedded MQTT broker: ${host}:${port} is already in use (another MQTT broker?). ` +
              'Choose another port (--mqtt-port), or point MQTT_URL at the broker that is running.',
            { cause: error, details: { reason: 'port_in_use', host, port } },
          ),
        )
      } else {
        reject(
          new LatchkeyError('service_unavailable', `cannot listen on ${host}:${port}: ${error.message}`, {
            cause: error,
          }),
        )
      }
    }
    const onListening = () => {
      server.off('error', onError)
      const address = server.address()
      resolve(typeof address === 'object' && address ? address.port : port)
    }
    server.once('error', onError)
    server.once('listening', onListening)
    server.listen({ host, port, exclusive: true })
  })
}

export async function startEmbeddedBroker(options: EmbeddedBrokerOptions): Promise<EmbeddedBroker> {
  const host = options.host ?? '127.0.0.1'
  const principals = new WeakMap<Client, BrokerPrincipal>()

  const aedes = await Aedes.createBroker({
    // Gateway ids (client ids) may be up to 64 characters, more than MQTT 3.1's 23.
    maxClientsIdLength: 128,
    authenticate(client, username, password, done) {
      if (username === undefined || password === undefined) {
        done(refusal('username and password are required', BAD_USERNAME_OR_PASSWORD), false)
        return
      }
      options.authenticate(username, password.toString('utf8')).then(
        (principal) => {
          if (!principal) return done(refusal('bad username or password', BAD_USERNAME_OR_PASSWORD), false)
          if (!mayUseClientId(principal, client.id)) {
            return done(
              refusal('a gateway connects with its own id as client id', IDENTIFIER_REJECTED),
              false,
            )
          }
          principals.set(client, principal)
          done(null, true)
        },
        () => done(refusal('authentication is unavailable', NOT_AUTHORIZED), false),
      )
    },
    authorizePublish(client, packet, done) {
      // client is null only for a will the broker publishes after a restart of its own persistence
      // (in memory here, so never); a client's will is checked like its publishes when it fires.
      const principal = client ? principals.get(client) : undefined
      if (client && (!principal || !mayUseTopic(principal, packet.topic))) {
        // MQTT-3.3.5-2: the broker closes the connection of a client that publishes where it may not.
        done(new Error(`not authorized to publish on ${packet.topic}`))
        return
      }
      done(null)
    },
    authorizeSubscribe(client, subscription, done) {
      const principal = principals.get(client)
      // A refused filter gets SUBACK 0x80 and nothing is delivered on it.
      done(null, principal && mayUseTopic(principal, subscription.topic) ? subscription : null)
    },
  })
  // A misbehaving client is disconnected; that is not the broker's error.
  aedes.on('clientError', () => {})
  aedes.on('connectionError', () => {})
  const clients = new Map<string, Client>()
  aedes.on('client', (client) => clients.set(client.id, client))
  aedes.on('clientDisconnect', (client) => {
    if (clients.get(client.id) === client) clients.delete(client.id)
  })

  const sockets = new Set<Socket>()
  const serve = (socket: Socket) => {
    sockets.add(socket)
    socket.on('close', () => sockets.delete(socket))
    aedes.handle(socket)
  }
  let server: Server
  try {
    server = options.tls
      ? createTlsServer({ cert: options.tls.cert, key: options.tls.key }, serve)
      : createServer(serve)
  } catch (cause) {
    await new Promise<void>((resolve) => aedes.close(() => resolve()))
    throw new LatchkeyError(
      'service_unavailable',
      `cannot serve MQTT over TLS: the certificate and key are not a usable PEM pair (${(cause as Error).message})`,
      { cause },
    )
  }
  // A client that does not speak TLS to the TLS port is dropped; that is not the broker's error.
  server.on('tlsClientError', (_error: Error, socket: Socket) => socket.destroy())

  let port: number
  try {
    port = await listen(server, host, options.port)
  } catch (error) {
    await new Promise<void>((resolve) => aedes.close(() => resolve()))
    throw error
  }

  let closing: Promise<void> | null = null
  const urlHost = host.includes(':') ? `[${host}]` : host
  return {
    url: `${options.tls ? 'mqtts' : 'mqtt'}://${urlHost}:${port}`,
    host,
    port,
    connectedClients: () => aedes.connectedClients,
    disconnect(clientId) {
      const client = clients.get(clientId)
      if (client === undefined) return false
      clients.delete(clientId)
      client.close()
      return true
    },
    close() {
      closing ??= (async () => {
        const stopped = new Promise<void>((resolve) => server.close(() => resolve()))
        await new Promise<void>((resolve) => aedes.close(() => resolve()))
        for (const socket of sockets) socket.destroy()
        await stopped
      })()
      return closing
    },
  }
}
