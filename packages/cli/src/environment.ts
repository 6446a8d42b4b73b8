/** What the `latchkey` command reads from its environment: each command's help lists its own. */
export const ENVIRONMENT = {
  PORT: 'HTTP port when --port is not given (default 8080)',
  HOST: 'interface when --host is not given (default 127.0.0.1)',
  LATCHKEY_DATA_DIR: 'data directory when --data-dir is not given (default ./data)',
  DATABASE_URL: 'a PostgreSQL server (postgres://…) instead of the embedded database in the data directory',
  MQTT_URL:
    'a real MQTT broker (Mosquitto with dynamic security, with its admin login) instead of the embedded one',
  LATCHKEY_MQTT_PUBLIC_URL: 'where gateways reach that broker, when not at MQTT_URL’s host',
  LATCHKEY_MQTT_CA:
    'a PEM file of certificate authorities to trust for an mqtts:// broker, beyond the system’s (serve: MQTT_URL; sim: its broker)',
  LATCHKEY_MQTT_TLS_CERT:
    'the embedded broker serves mqtts:// with this PEM certificate (with LATCHKEY_MQTT_TLS_KEY), when --mqtt-tls-cert is not given',
  LATCHKEY_MQTT_TLS_KEY: 'the PEM private key of that certificate, when --mqtt-tls-key is not given',
  LATCHKEY_MASTER_KEY:
    'the master key (32 random bytes, base64); without it <data-dir>/master.key is used or created',
  LATCHKEY_TRUST_PROXY:
    'behind a reverse proxy: how many proxies to trust, or their addresses, when --trust-proxy is not given',
  LATCHKEY_SIGNUP:
    'who may sign up when --signup is not given: first (default: only while no organization exists), open, closed',
  LATCHKEY_METRICS_TOKEN: '/metrics answers only with this bearer token (without it, only on --metrics-port)',
  LATCHKEY_WEBHOOK_ALLOW_PRIVATE:
    '1: webhooks and booking calendars may reach loopback, link-local and private addresses (refused otherwise)',
  LATCHKEY_MATTER_COMMANDS_PER_HOUR:
    'the commands a Matter lock takes in any hour, retries included (default 120; a battery lock is spared)',
  LATCHKEY_MATTER_COMMAND_TIME_LIMIT_MS:
    'how long the server waits for a Matter lock to carry out a command before it counts as unreachable (default 15000)',
  LATCHKEY_MATTER_INTERFACE:
    'the network interface (e.g. eth0) on which the server finds and reaches Matter locks (default: loopback only)',
  LOG_LEVEL: 'log level: trace, debug, info (default), warn, error, silent',
  MATTER_LOG_LEVEL: 'log level of the Matter stack: debug, info, notice, warn, error (default), fatal',
  LATCHKEY_DEMO_EMAIL: '--demo: the owner’s e-mail (default demo@latchkey.local)',
  LATCHKEY_DEMO_PASSWORD: '--demo: the owner’s password (default: generated once and printed at start)',
  LATCHKEY_DEMO_TIMEZONE: '--demo: the locks’ time zone (default: this host’s, else Australia/Sydney)',
  LATCHKEY_DEMO_MATTER:
    '--demo: 1 adds a virtual Matter lock, “Side gate”, as --demo-matter does (default 0)',
  LATCHKEY_SERVER: 'import: the Latchkey server when --server is not given (default http://127.0.0.1:8080)',
  LATCHKEY_API_KEY:
    'import: the API key when --api-key is not given (safer: other users of the host can see options)',
  LATCHKEY_GATEWAY_ID: 'sim: the gateway id when --gateway-id is not given',
  LATCHKEY_GATEWAY_TOKEN:
    'sim: the gateway token (safer than --gateway-token, which other users of the host can see)',
} as const
export type EnvName = keyof typeof ENVIRONMENT
