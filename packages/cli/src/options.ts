import { readFileSync } from 'node:fs'
import { LatchkeyError } from '@latchkey/core'

/** `--trust-proxy` / LATCHKEY_TRUST_PROXY: a hop count, or the proxies' addresses (comma-separated). */
export function trustProxyOption(value: string | undefined): number | string | undefined {
  const text = value?.trim()
  if (text === undefined || text === '') return undefined
  return /^\d+$/.test(text) ? Number(text) : text
}

/** A PEM file an option names (a certificate, its key, certificate authorities), read once at start. */
export function readPemFile(path: string | undefined, what: string): Buffer | undefined {
  const file = path?.trim()
  if (file === undefined || file === '') return undefined
  let pem: Buffer
  try {
    pem = readFileSync(file)
  } catch (cause) {
    throw new LatchkeyError(
      'validation_failed',
      `cannot read ${what} from ${file}: ${(cause as Error).message}`,
      {
        cause,
      },
    )
  }
  if (!pem.toString('utf8').includes('-----BEGIN ')) {
    throw new LatchkeyError('validation_failed', `${file} is not a PEM file (${what})`)
  }
  return pem
}

/** --mqtt-tls-cert and --mqtt-tls-key: both or neither. */
export function mqttTlsOption(
  certPath: string | undefined,
  keyPath: string | undefined,
): { cert: Buffer; key: Buffer } | undefined {
  const cert = readPemFile(certPath, 'the MQTT TLS certificate')
  const key = readPemFile(keyPath, 'the MQTT TLS key')
  if (cert === undefined && key === undefined) return undefined
  if (cert === undefined || key === undefined) {
    throw new LatchkeyError('validation_failed', 'give both --mqtt-tls-cert and --mqtt-tls-key, or neither')
  }
  return { cert, key }
}
