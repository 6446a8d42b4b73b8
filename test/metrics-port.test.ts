/**
 * Where `/metrics` is served (SPEC §15): on the API's port only to LATCHKEY_METRICS_TOKEN as a bearer
 * token; with `--metrics-port`, on that listener without a token, and then not on the API's port at all.
 */
import { randomBytes } from 'node:crypto'
import { rmSync } from 'node:fs'
import { type RunningServer, startServer } from '@latchkey/server'
import { afterAll, describe, expect, it } from 'vitest'
import { makeTestDataDir } from '../packages/server/src/testing.ts'

const TOKEN = 'metrics-port-test-token'
const started: Array<{ server: RunningServer; dataDir: string }> = []

async function serve(metricsPort?: number): Promise<RunningServer> {
  const dataDir = await makeTestDataDir()
  const server = await startServer({
    port: 0,
    host: '127.0.0.1',
    dataDir,
    mqttPort: 0,
    reconciler: false,
    logger: false,
    ...(metricsPort === undefined ? {} : { metricsPort }),
    env: { LATCHKEY_MASTER_KEY: randomBytes(32).toString('base64'), LATCHKEY_METRICS_TOKEN: TOKEN },
  })
  started.push({ server, dataDir })
  return server
}

afterAll(async () => {
  for (const { server, dataDir } of started) {
    await server.close()
    rmSync(dataDir, { recursive: true, force: true })
  }
})

const scrape = (base: string, token?: string) =>
  fetch(`${base}/metrics`, token === undefined ? {} : { headers: { authorization: `Bearer ${token}` } })

describe('/metrics', () => {
  it('answers on the API port only to the metrics token', async () => {
    const server = await serve()
    expect(server.metricsUrl).toBeUndefined()
    const refused = await scrape(server.url)
    expect(refused.status).toBe(401)
    expect(refused.headers.get('content-type')).toContain('application/problem+json')
    expect((await scrape(server.url, 'wrong')).status).toBe(401)
    const answered = await scrape(server.url, TOKEN)
    expect(answered.status).toBe(200)
    expect(await answered.text()).toContain('# TYPE http_requests_total counter')
  })

  it('with --metrics-port is served there without a token, counting the API port’s traffic, and not on the API port', async () => {
    const server = await serve(0)
    expect(server.metricsUrl).toMatch(/^http:\/\/127\.0\.0\.1:\d+$/)
    expect(server.metricsUrl).not.toBe(server.url)
    expect((await fetch(`${server.url}/healthz`)).status).toBe(200)

    const answered = await scrape(server.metricsUrl!)
    expect(answered.status).toBe(200)
    expect(answered.headers.get('content-type')).toBe('text/plain; version=0.0.4; charset=utf-8')
    expect((await answered.text()).split('\n')).toContain(
      'http_requests_total{method="GET",route="/healthz",status="200"} 1',
    )
    // not on the API's port, with the token or without
    expect((await scrape(server.url, TOKEN)).status).toBe(404)
    expect((await scrape(server.url)).status).toBe(404)
    // the metrics listener serves nothing else
    expect((await fetch(`${server.metricsUrl}/api/v1/locks`)).status).toBe(404)
  })
})
