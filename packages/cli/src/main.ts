/**
 * The `latchkey` command (SPEC §10):
 *   latchkey serve [--port 8080] [--host 127.0.0.1] [--data-dir ./data] [--mqtt-port P] [--demo]
 *   latchkey sim --server URL --gateway-id ID --gateway-token T [--mqtt-url URL] [--control-port P] [--state-dir D]
 *   latchkey sim-matter --port P --passcode N --discriminator D [--state-dir S] [--control-port C]
 *   latchkey admin create-owner --email E [--password P] [--organization N] [--data-dir ./data]
 * Every environment variable a command reads is in its help (ENVIRONMENT below).
 */
import { resolve } from 'node:path'
import { isLatchkeyError } from '@latchkey/core'
import { runSim } from '@latchkey/gateway'
import {
  countOrganizations,
  createOwner,
  DEFAULT_HOST,
  DEFAULT_PORT,
  humanLogger,
  parseSignupMode,
  type RunningServer,
  type SignupMode,
  startServer,
} from '@latchkey/server'
import { Command, InvalidArgumentError } from 'commander'
import { type RunningDemo, startDemo } from './demo.ts'
import { ENVIRONMENT, type EnvName } from './environment.ts'

const SERVE_ENV: EnvName[] = [
  'PORT',
  'HOST',
  'LATCHKEY_DATA_DIR',
  'DATABASE_URL',
  'MQTT_URL',
  'LATCHKEY_MQTT_PUBLIC_URL',
  'LATCHKEY_MQTT_CA',
  'LATCHKEY_MQTT_TLS_CERT',
  'LATCHKEY_MQTT_TLS_KEY',
  'LATCHKEY_MASTER_KEY',
  'LATCHKEY_TRUST_PROXY',
  'LATCHKEY_SIGNUP',
  'LATCHKEY_METRICS_TOKEN',
  'LATCHKEY_WEBHOOK_ALLOW_PRIVATE',
  'LATCHKEY_MATTER_INTERFACE',
  'LATCHKEY_MATTER_COMMANDS_PER_HOUR',
  'LATCHKEY_MATTER_COMMAND_TIME_LIMIT_MS',
  'LOG_LEVEL',
  'MATTER_LOG_LEVEL',
  'LATCHKEY_DEMO_EMAIL',
  'LATCHKEY_DEMO_PASSWORD',
  'LATCHKEY_DEMO_TIMEZONE',
  'LATCHKEY_DEMO_MATTER',
]
const SIM_ENV: EnvName[] = ['LATCHKEY_GATEWAY_ID', 'LATCHKEY_GATEWAY_TOKEN', 'LATCHKEY_MQTT_CA']
const ADMIN_ENV: EnvName[] = ['LATCHKEY_DATA_DIR', 'DATABASE_URL']
const IMPORT_ENV: EnvName[] = ['LATCHKEY_SERVER', 'LATCHKEY_API_KEY']

function environmentHelp(names: readonly EnvName[]): string {
  const width = Math.max(...names.map((n) => n.length))
  return `\nEnvironment:\n${names.map((n) => `  ${n.padEnd(width)}  ${ENVIRONMENT[n]}`).join('\n')}\n`
}

const FIRST_OWNER_HELP = [
  'No organization exists yet. Make the first owner, either',
  '  latchkey admin create-owner --email you@example.com [--password P] [--organization "My company"]',
  '(stop the server first when it uses the embedded database), or sign up over the API:',
  '  curl -X POST <url>/api/v1/auth/signup -H "content-type: application/json" \\',
  '    -d \'{"email":"you@example.com","password":"…","organizationName":"My company"}\'',
]

import { mqttTlsOption, readPemFile, trustProxyOption } from './options.ts'
import { webDist } from './web-dist.ts'

function port(value: string): number {
  const n = Number(value)
  if (!/^\d{1,5}$/.test(value) || n > 65_535) throw new InvalidArgumentError('a port number (0-65535)')
  return n
}

function integer(min: number, max: number) {
  return (value: string): number => {
    const n = Number(value)
    if (!/^\d{1,10}$/.test(value) || n < min || n > max)
      throw new InvalidArgumentError(`a whole number from ${min} to ${max}`)
    return n
  }
}

const env = process.env
const blankToUndefined = (value: string | undefined) =>
  value === undefined || value.trim() === '' ? undefined : value

/** Stops `close` on SIGINT / SIGTERM, once; a second signal exits at once. */
function closeOnSignal(close: () => Promise<void>, say: (line: string) => void): void {
  let stopping = false
  const onSignal = (signal: NodeJS.Signals) => {
    if (stopping) process.exit(130)
    stopping = true
    say(`${signal}: stopping`)
    close().then(
      () => process.exit(0),
      (error) => {
        console.error(error)
        process.exit(1)
      },
    )
  }
  process.on('SIGINT', onSignal)
  process.on('SIGTERM', onSignal)
}

function fail(error: unknown): never {
  console.error(
    `latchkey: ${isLatchkeyError(error) || error instanceof Error ? error.message : String(error)}`,
  )
  process.exit(1)
}

function serverBanner(server: RunningServer): string[] {
  return [
    `Latchkey is running at ${server.url}`,
    `  API docs:     ${server.url}/api/docs`,
    `  MQTT broker:  ${server.mqttUrl} (${server.mqtt.kind})`,
  ]
}

function demoBanner(demo: RunningDemo): string[] {
  const { data, server, onlineLocks, matterLock } = demo
  const total = data.locks.length + (matterLock === undefined ? 0 : 1)
  return [
    ...serverBanner(server),
    '',
    `Demo organization — sign in as the owner:`,
    `  Email:        ${data.owner.email}`,
    `  Password:     ${data.owner.password}`,
    '',
    onlineLocks.length === total
      ? `${total} locks online: ${onlineLocks.join(', ')} (time zone ${demo.timezone})`
      : `${onlineLocks.length} of ${total} locks online so far: ${onlineLocks.join(', ') || 'none'}`,
    `  Simulator:    ${server.url}/sim/locks   (type a PIN: POST /sim/locks/{id}/keypad {"digits":"…"})`,
    ...(matterLock === undefined
      ? []
      : [`  Matter lock:  ${matterLock.name}, a virtual Matter lock at ${matterLock.virtual.address} (UDP)`]),
    `  Time:         POST ${server.url}/sim/clock {"advanceMs":…} moves the server and the locks together`,
    '',
    'Ctrl-C stops everything.',
  ]
}

export function buildProgram(): Command {
  const program = new Command()
    .name('latchkey')
    .description('Self-hosted access platform for smart locks')
    .version('0.1.0')
    .showHelpAfterError()
    .addHelpText('after', environmentHelp(Object.keys(ENVIRONMENT) as EnvName[]))

  program
    .command('serve')
    .description('Run the server: HTTP API, database, MQTT broker for gateways, reconciler')
    .option('--port <port>', 'HTTP port', port, env.PORT ? port(env.PORT) : DEFAULT_PORT)
    .option('--host <host>', 'interface for HTTP and the embedded MQTT broker', env.HOST ?? DEFAULT_HOST)
    .option(
      '--data-dir <dir>',
      'database (PGlite), master key and demo state',
      env.LATCHKEY_DATA_DIR ?? './data',
    )
    .option(
      '--mqtt-port <port>',
      'port of the embedded MQTT broker (default 1884, or a free one if taken)',
      port,
    )
    .option(
      '--mqtt-tls-cert <file>',
      'the embedded broker serves mqtts:// with this PEM certificate (and --mqtt-tls-key)',
      env.LATCHKEY_MQTT_TLS_CERT,
    )
    .option('--mqtt-tls-key <file>', 'the PEM private key of --mqtt-tls-cert', env.LATCHKEY_MQTT_TLS_KEY)
    .option(
      '--demo',
      'a demo organization, a gateway and three simulated locks in this process, simulated time',
    )
    .option('--demo-matter', 'with --demo: a virtual Matter lock too, "Side gate" (LATCHKEY_DEMO_MATTER=1)')
    .option(
      '--metrics-port <port>',
      'serve /metrics on a listener of its own (no token), on --host, instead of on --port',
      port,
    )
    .option(
      '--trust-proxy <hops|addresses>',
      'behind a reverse proxy: how many proxies to trust, or their addresses (comma-separated), for the client address',
      env.LATCHKEY_TRUST_PROXY,
    )
    .option(
      '--signup <mode>',
      'who may sign up: first (only while no organization exists), open or closed',
      env.LATCHKEY_SIGNUP,
    )
    .addHelpText('after', environmentHelp(SERVE_ENV))
    .action(
      async (options: {
        port: number
        host: string
        dataDir: string
        mqttPort?: number
        mqttTlsCert?: string
        mqttTlsKey?: string
        demo?: boolean
        demoMatter?: boolean
        metricsPort?: number
        trustProxy?: string
        signup?: string
      }) => {
        const say = (line: string) => console.log(line)
        let signup: SignupMode
        let mqttTls: ReturnType<typeof mqttTlsOption>
        let mqttCa: Buffer | undefined
        try {
          signup = parseSignupMode(options.signup)
          mqttTls = mqttTlsOption(options.mqttTlsCert, options.mqttTlsKey)
          mqttCa = readPemFile(env.LATCHKEY_MQTT_CA, 'the MQTT certificate authorities (LATCHKEY_MQTT_CA)')
        } catch (error) {
          fail(error)
        }
        // On a terminal: lines a person reads; elsewhere: JSON log records for a log collector.
        const logger = process.stdout.isTTY ? humanLogger(env.LOG_LEVEL ?? 'info') : true
        const common = {
          port: options.port,
          host: options.host,
          dataDir: resolve(options.dataDir),
          databaseUrl: blankToUndefined(env.DATABASE_URL),
          mqttUrl: blankToUndefined(env.MQTT_URL),
          mqttPublicUrl: blankToUndefined(env.LATCHKEY_MQTT_PUBLIC_URL),
          mqttPort: options.mqttPort,
          mqttTls,
          mqttCa,
          metricsPort: options.metricsPort,
          signup,
          ...(trustProxyOption(options.trustProxy) === undefined
            ? {}
            : { trustProxy: trustProxyOption(options.trustProxy)! }),
          env,
          logger,
          progress: (step: string) => say(`latchkey: ${step}`),
          webDir: webDist(),
        }
        try {
          if (options.demo) {
            const demoEnv = { LOG_LEVEL: 'warn', ...env }
            const demo = await startDemo({
              ...common,
              ...(options.demoMatter ? { matter: true } : {}),
              env: demoEnv,
              logger: process.stdout.isTTY ? humanLogger(demoEnv.LOG_LEVEL) : true,
            })
            say(demoBanner(demo).join('\n'))
            closeOnSignal(demo.close, say)
          } else {
            const server = await startServer(common)
            say(serverBanner(server).join('\n'))
            if ((await countOrganizations(server.deps.db)) === 0)
              say(
                [
                  '',
                  ...(signup === 'closed'
                    ? [
                        'No organization exists yet, and sign-up is closed. Make the first owner with',
                        FIRST_OWNER_HELP[1]!,
                        '(stop the server first when it uses the embedded database).',
                      ]
                    : FIRST_OWNER_HELP),
                ]
                  .join('\n')
                  .replace('<url>', server.url),
              )
            closeOnSignal(server.close, say)
          }
        } catch (error) {
          fail(error)
        }
      },
    )

  program
    .command('sim')
    .description('A gateway process with simulated locks, driven over the simulator control API')
    .option('--server <url>', "the server's URL (to find its MQTT broker)")
    .requiredOption('--gateway-id <id>', 'the gateway id (POST /api/v1/gateways)', env.LATCHKEY_GATEWAY_ID)
    .requiredOption(
      '--gateway-token <token>',
      'the gateway token (or LATCHKEY_GATEWAY_TOKEN)',
      env.LATCHKEY_GATEWAY_TOKEN,
    )
    .option('--mqtt-url <url>', 'the broker (default: ask the server)')
    .option(
      '--mqtt-ca <file>',
      'a PEM file of certificate authorities to trust for an mqtts:// broker',
      env.LATCHKEY_MQTT_CA,
    )
    .option('--control-port <port>', 'port of the simulator control API (0: a free one)', port, 8090)
    .option('--control-host <host>', 'interface of the control API (it has no authentication)', '127.0.0.1')
    .option('--state-dir <dir>', 'where the simulated locks keep their flash', './sim-state')
    .addHelpText('after', environmentHelp(SIM_ENV))
    .action(
      async (options: {
        server?: string
        gatewayId: string
        gatewayToken: string
        mqttUrl?: string
        mqttCa?: string
        controlPort: number
        controlHost: string
        stateDir: string
      }) => {
        try {
          const mqttCa = readPemFile(options.mqttCa, 'the MQTT certificate authorities (--mqtt-ca)')
          const sim = await runSim({
            ...(options.server ? { server: options.server } : {}),
            ...(options.mqttUrl ? { mqttUrl: options.mqttUrl } : {}),
            ...(mqttCa === undefined ? {} : { mqttCa }),
            gatewayId: options.gatewayId,
            gatewayToken: options.gatewayToken,
            controlPort: options.controlPort,
            controlHost: options.controlHost,
            stateDir: resolve(options.stateDir),
            handleSignals: false,
          })
          console.log(`control API ${sim.controlUrl}/sim`)
          closeOnSignal(sim.close, (line) => console.log(`[latchkey sim] ${line}`))
        } catch (error) {
          fail(error)
        }
      },
    )

  program
    .command('sim-matter')
    .description('A virtual Matter door lock (users, PIN credentials, schedules) with a keypad control API')
    .requiredOption('--port <port>', 'UDP port of the lock (Matter, on loopback)', port)
    .requiredOption('--passcode <n>', 'setup passcode (8 digits)', integer(1, 99_999_998))
    .requiredOption('--discriminator <n>', 'discriminator (0-4095)', integer(0, 4095))
    .option(
      '--state-dir <dir>',
      'where the lock keeps its fabric, users and credentials',
      './sim-matter-state',
    )
    .option('--control-port <port>', 'port of the keypad control API (0: a free one)', port, 0)
    .option('--timezone <zone>', "the lock's IANA time zone, for Week Day schedules", 'UTC')
    .action(
      async (options: {
        port: number
        passcode: number
        discriminator: number
        stateDir: string
        controlPort: number
        timezone: string
      }) => {
        try {
          // matter.js is loaded by the commands that use it only
          const { runSimMatter } = await import('./sim-matter.ts')
          const sim = await runSimMatter({
            port: options.port,
            passcode: options.passcode,
            discriminator: options.discriminator,
            stateDir: resolve(options.stateDir),
            controlPort: options.controlPort,
            controlHost: '127.0.0.1',
            timezone: options.timezone,
          })
          console.log(`Matter lock on udp 127.0.0.1:${options.port}, pairing code ${sim.lock.pairingCode}`)
          console.log(`control API ${sim.controlUrl}/sim/lock`)
          closeOnSignal(sim.close, (line) => console.log(`[latchkey sim-matter] ${line}`))
        } catch (error) {
          fail(error)
        }
      },
    )

  const admin = program
    .command('admin')
    .description('Administration on the database directly (the server stopped when it uses the embedded one)')
  admin
    .command('create-owner')
    .description('Make an organization and its owner (the first one of a server that runs without --demo)')
    .requiredOption('--email <email>', 'the owner’s e-mail, to sign in with')
    .option('--password <password>', 'at least 8 characters (default: one is generated and printed)')
    .option('--organization <name>', 'the organization’s name', 'My organization')
    .option(
      '--data-dir <dir>',
      'the data directory of the embedded database',
      env.LATCHKEY_DATA_DIR ?? './data',
    )
    .addHelpText('after', environmentHelp(ADMIN_ENV))
    .action(async (options: { email: string; password?: string; organization: string; dataDir: string }) => {
      try {
        const owner = await createOwner({
          dataDir: resolve(options.dataDir),
          databaseUrl: blankToUndefined(env.DATABASE_URL),
          email: options.email,
          password: options.password,
          organizationName: options.organization,
          nowMs: Date.now(),
        })
        console.log(
          [
            `Created the organization “${options.organization}” and its owner.`,
            `  Email:        ${owner.email}`,
            owner.generated
              ? `  Password:     ${owner.password}   (shown once: keep it)`
              : '  Password:     as given',
            '',
            'Sign in with POST /api/v1/auth/login {"email","password"}.',
          ].join('\n'),
        )
      } catch (error) {
        fail(error)
      }
    })
  program
    .command('import')
    .description(
      'Create many access codes on a lock from a CSV (name,kind,code,startsAt,endsAt,schedule,maxUses,delivery)',
    )
    .argument('<file>', 'the CSV file, with a header row')
    .requiredOption('--lock <id>', 'the lock the codes are for')
    .option(
      '--server <url>',
      'the Latchkey server',
      env.LATCHKEY_SERVER ?? `http://${DEFAULT_HOST}:${DEFAULT_PORT}`,
    )
    .option('--api-key <key>', 'an API key (or LATCHKEY_API_KEY)', env.LATCHKEY_API_KEY)
    .option('--dry-run', 'check every row, create nothing')
    .addHelpText('after', environmentHelp(IMPORT_ENV))
    .action(
      async (file: string, options: { lock: string; server: string; apiKey?: string; dryRun?: boolean }) => {
        try {
          if (!options.apiKey)
            throw new InvalidArgumentError('an API key is needed: --api-key or LATCHKEY_API_KEY')
          const { runImport } = await import('./import-codes.ts')
          process.exitCode = await runImport({
            file,
            lockId: options.lock,
            server: options.server,
            apiKey: options.apiKey,
            dryRun: options.dryRun ?? false,
            tty: process.stdout.isTTY === true,
          })
        } catch (error) {
          fail(error)
        }
      },
    )
  return program
}

await buildProgram().parseAsync(process.argv)
