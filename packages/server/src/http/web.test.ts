import { mkdirSync, mkdtempSync, rmSync, writeFileSync } from 'node:fs'
import { tmpdir } from 'node:os'
import { join } from 'node:path'
import { afterAll, beforeAll, describe, expect, it } from 'vitest'
import { buildTestApp, type TestApp } from '../testing.ts'

const webDir = mkdtempSync(join(tmpdir(), 'latchkey-web-'))
let t: TestApp
beforeAll(async () => {
  mkdirSync(join(webDir, 'app'))
  mkdirSync(join(webDir, 'assets'))
  writeFileSync(join(webDir, 'index.html'), '<title>portal</title>')
  writeFileSync(join(webDir, 'app', 'index.html'), '<title>app</title>')
  writeFileSync(join(webDir, 'assets', 'portal-1.js'), 'console.log(1)')
  t = await buildTestApp({ webDir })
})
afterAll(async () => {
  await t.close()
  rmSync(webDir, { recursive: true, force: true })
})

describe('the portal and the app served at / and /app', () => {
  it('answers the portal at / and at its page paths, the app at /app and below', async () => {
    for (const url of ['/', '/locks/abc', '/unique-codes?x=1']) {
      const page = await t.app.inject({ method: 'GET', url })
      expect([url, page.statusCode, page.body]).toEqual([url, 200, '<title>portal</title>'])
    }
    for (const url of ['/app', '/app/', '/app/locks']) {
      const page = await t.app.inject({ method: 'GET', url })
      expect([url, page.statusCode, page.body]).toEqual([url, 200, '<title>app</title>'])
    }
    const asset = await t.app.inject({ method: 'GET', url: '/assets/portal-1.js' })
    expect(asset.statusCode).toBe(200)
    expect(asset.headers['cache-control']).toContain('immutable')
  })

  it('never shadows the API, the simulator, the probes or metrics', async () => {
    for (const url of ['/api/v1/nothing', '/api', '/sim/locks', '/healthz/x', '/metrics/x', '/readyz/y']) {
      const response = await t.app.inject({ method: 'GET', url })
      expect([url, response.statusCode, response.json().code]).toEqual([url, 404, 'not_found'])
    }
    expect((await t.app.inject({ method: 'GET', url: '/healthz' })).json()).toEqual({ status: 'ok' })
    const post = await t.app.inject({ method: 'POST', url: '/locks' })
    expect(post.statusCode).toBe(404)
  })
})
