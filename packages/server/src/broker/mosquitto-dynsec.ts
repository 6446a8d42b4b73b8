/**
 * The topic policy of policy.ts on a real Mosquitto (2.0+), through its dynamic-security plugin:
 * the server, as the plugin's admin client, publishes commands to `$CONTROL/dynamic-security/v1`
 * and reads the answers on `…/response`. Each gateway gets a client (username = client id =
 * gateway id, password = its token) and a role that allows only `latchkey/v1/gw/{id}/#`; the
 * server's own MQTT client gets a role that allows every topic. Mosquitto keeps these in its
 * dynsec.json, so they are created when a gateway is registered, not at every start.
 */
import { randomUUID } from 'node:crypto'
import { LatchkeyError } from '@latchkey/core'
import { gatewayFilter } from '@latchkey/protocol'
import mqtt, { type MqttClient } from 'mqtt'

const CONTROL_TOPIC = '$CONTROL/dynamic-security/v1'
const RESPONSE_TOPIC = `${CONTROL_TOPIC}/response`
const PROBE_TIMEOUT_MS = 3000

export type DynsecAclType =
  | 'publishClientSend'
  | 'publishClientReceive'
  | 'subscribeLiteral'
  | 'subscribePattern'
  | 'unsubscribeLiteral'
  | 'unsubscribePattern'

export interface DynsecAcl {
  acltype: DynsecAclType
  topic: string
  allow: boolean
  priority: number
}

export interface DynsecResponse {
  command: string
  error?: string
  data?: unknown
  correlationData?: string
}

export const SERVER_ROLE = 'latchkey-server'

export function gatewayRoleName(gatewayId: string): string {
  return `latchkey-gw-${gatewayId}`
}

/**
 * A gateway's ACLs: send, receive and subscribe only under its own prefix, and an explicit deny of
 * everything else below it (so the rule holds whatever the plugin's default access says).
 */
export function gatewayRoleAcls(gatewayId: string): DynsecAcl[] {
  const own = gatewayFilter(gatewayId)
  const types: DynsecAclType[] = [
    'publishClientSend',
    'publishClientReceive',
    'subscribePattern',
    'unsubscribePattern',
  ]
  return [
    ...types.map((acltype) => ({ acltype, topic: own, allow: true, priority: 10 })),
    ...types.map((acltype) => ({ acltype, topic: '#', allow: false, priority: 0 })),
  ]
}

/** The server may publish and subscribe everywhere, but it does not administer the broker with this login. */
export function serverRoleAcls(): DynsecAcl[] {
  const types: DynsecAclType[] = [
    'publishClientSend',
    'publishClientReceive',
    'subscribePattern',
    'unsubscribePattern',
  ]
  const control: DynsecAclType[] = ['publishClientSend', 'publishClientReceive', 'subscribePattern']
  return [
    ...control.map((acltype) => ({ acltype, topic: '$CONTROL/#', allow: false, priority: 20 })),
    ...types.map((acltype) => ({ acltype, topic: '#', allow: true, priority: 10 })),
  ]
}

export interface DynsecConnectOptions {
  url: string
  username: string
  password: string
  /** Per command (default 10 s). */
  timeoutMs?: number
  /** TLS options for `mqtts://` (certificate authorities to trust). */
  tls?: { ca?: Buffer[] }
}

export class MosquittoDynsec {
  readonly #client: MqttClient
  readonly #timeoutMs: number
  readonly #pending = new Map<
    string,
    { resolve: (r: DynsecResponse) => void; reject: (e: Error) => void; timer: NodeJS.Timeout }
  >()

  private constructor(client: MqttClient, timeoutMs: number) {
    this.#client = client
    this.#timeoutMs = timeoutMs
    client.on('message', (topic, payload) => {
      if (topic !== RESPONSE_TOPIC) return
      let body: { responses?: DynsecResponse[] }
      try {
        body = JSON.parse(payload.toString('utf8'))
      } catch {
        return
      }
      for (const response of body.responses ?? []) {
        const waiter = response.correlationData ? this.#pending.get(response.correlationData) : undefined
        if (!waiter) continue
        clearTimeout(waiter.timer)
        this.#pending.delete(response.correlationData!)
        waiter.resolve(response)
      }
    })
  }

  /** Connects as the dynamic-security admin. */
  static async connect(options: DynsecConnectOptions): Promise<MosquittoDynsec> {
    let client: MqttClient
    try {
      client = await mqtt.connectAsync(options.url, {
        ...options.tls,
        username: options.username,
        password: options.password,
        clientId: `latchkey-dynsec-${randomUUID()}`,
        protocolVersion: 4,
        clean: true,
        reconnectPeriod: 1000,
        connectTimeout: options.timeoutMs ?? 10_000,
      })
    } catch (cause) {
      throw new LatchkeyError(
        'service_unavailable',
        `cannot reach Mosquitto's dynamic security at ${options.url}`,
        {
          cause,
        },
      )
    }
    const forbidden = async () => {
      await client.endAsync(true)
      return new LatchkeyError(
        'forbidden',
        `${options.username} is not a dynamic-security admin on ${options.url}`,
      )
    }
    // A refused subscription (SUBACK 0x80) rejects.
    const subscribed = await client.subscribeAsync(RESPONSE_TOPIC, { qos: 1 }).then(
      () => true,
      () => false,
    )
    if (!subscribed) throw await forbidden()
    const dynsec = new MosquittoDynsec(client, options.timeoutMs ?? 10_000)
    // The plugin answers its admin only: a login that may not administer hears nothing back.
    const probe = await dynsec.send({ command: 'getDefaultACLAccess' }, PROBE_TIMEOUT_MS).catch(() => null)
    if (!probe || probe.error) throw await forbidden()
    return dynsec
  }

  /** Sends one command and waits for its answer (errors are returned, not thrown). */
  send(
    command: { command: string } & Record<string, unknown>,
    timeoutMs = this.#timeoutMs,
  ): Promise<DynsecResponse> {
    const correlationData = randomUUID()
    return new Promise((resolve, reject) => {
      const timer = setTimeout(() => {
        this.#pending.delete(correlationData)
        reject(
          new LatchkeyError('service_unavailable', `Mosquitto did not answer ${command.command} in time`),
        )
      }, timeoutMs)
      this.#pending.set(correlationData, { resolve, reject, timer })
      this.#client.publish(
        CONTROL_TOPIC,
        JSON.stringify({ commands: [{ ...command, correlationData }] }),
        { qos: 1 },
        (error) => {
          if (!error) return
          clearTimeout(timer)
          this.#pending.delete(correlationData)
          reject(
            new LatchkeyError('service_unavailable', `cannot send ${command.command} to Mosquitto`, {
              cause: error,
            }),
          )
        },
      )
    })
  }

  async #must(
    command: { command: string } & Record<string, unknown>,
    tolerate: string[] = [],
  ): Promise<DynsecResponse> {
    const response = await this.send(command)
    if (response.error && !tolerate.includes(response.error)) {
      throw new LatchkeyError('internal', `Mosquitto refused ${command.command}: ${response.error}`)
    }
    return response
  }

  async #ensureRole(rolename: string, acls: DynsecAcl[]): Promise<void> {
    const created = await this.#must({ command: 'createRole', rolename, acls }, ['Role already exists'])
    if (!created.error) return
    for (const acl of acls) {
      await this.#must({ command: 'addRoleACL', rolename, ...acl }, ['ACL with this topic already exists'])
    }
  }

  async #upsertClient(
    username: string,
    password: string,
    clientid: string | null,
    rolename: string,
  ): Promise<void> {
    const fields = {
      username,
      password,
      roles: [{ rolename, priority: 0 }],
      ...(clientid ? { clientid } : {}),
    }
    const created = await this.#must({ command: 'createClient', ...fields }, ['Client already exists'])
    // An existing client gets the new password (Mosquitto disconnects its current session).
    if (created.error) await this.#must({ command: 'modifyClient', ...fields })
  }

  /** The server's own MQTT login, allowed on every topic. */
  async ensureServerClient(username: string, password: string): Promise<void> {
    await this.#ensureRole(SERVER_ROLE, serverRoleAcls())
    await this.#upsertClient(username, password, null, SERVER_ROLE)
  }

  /** Creates a gateway's login, or gives an existing one a new token. */
  async upsertGateway(gatewayId: string, token: string): Promise<void> {
    await this.#ensureRole(gatewayRoleName(gatewayId), gatewayRoleAcls(gatewayId))
    await this.#upsertClient(gatewayId, token, gatewayId, gatewayRoleName(gatewayId))
  }

  /** Removes a gateway's login (Mosquitto disconnects it) and its role. */
  async removeGateway(gatewayId: string): Promise<void> {
    await this.#must({ command: 'deleteClient', username: gatewayId }, ['Client not found'])
    await this.#must({ command: 'deleteRole', rolename: gatewayRoleName(gatewayId) }, ['Role not found'])
  }

  async close(): Promise<void> {
    for (const [id, waiter] of this.#pending) {
      clearTimeout(waiter.timer)
      this.#pending.delete(id)
      waiter.reject(new LatchkeyError('service_unavailable', 'the dynamic-security connection was closed'))
    }
    await this.#client.endAsync()
  }
}
