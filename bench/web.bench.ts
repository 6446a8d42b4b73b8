/**
 * The portal in chromium against a demo server with 100 locks: JavaScript of the first load of `/`
 * and of `/app` (gzip, as the browser fetched it, compressed here with zlib level 9), and the time
 * from navigation to the lock list shown with 100 rows, beside the floor: the navigation to a
 * blank static page on a plain node:http server on loopback, in the same run and browser.
 */
import { randomBytes } from 'node:crypto'
import { mkdtempSync, rmSync } from 'node:fs'
import { createServer } from 'node:http'
import type { AddressInfo } from 'node:net'
import { tmpdir } from 'node:os'
import { join } from 'node:path'
import { gzipSync } from 'node:zlib'
import { startDemo } from '@latchkey/cli'
import { launchChromium } from '@latchkey/web/chromium'
import type { Page } from 'playwright-core'
import { defineSuite, formatNumber, median } from './lib.ts'

const LOCKS = 100
const RUNS = 7

async function scriptBytes(page: Page, url: string): Promise<number> {
  const bodies: Promise<Buffer>[] = []
  page.on('response', (response) => {
    if (response.request().resourceType() === 'script') bodies.push(response.body())
  })
  await page.goto(url, { waitUntil: 'networkidle' })
  page.removeAllListeners('response')
  return (await Promise.all(bodies)).reduce((sum, body) => sum + gzipSync(body, { level: 9 }).length, 0)
}

export default defineSuite({
  name: 'web',
  async run() {
    const dataDir = mkdtempSync(join(tmpdir(), 'latchkey-bench-web-'))
    const password = 'bench-password'
    const demo = await startDemo({
      port: 0,
      host: '127.0.0.1',
      dataDir,
      mqttPort: 0,
      logger: false,
      env: { LATCHKEY_MASTER_KEY: randomBytes(32).toString('base64'), LATCHKEY_DEMO_PASSWORD: password },
    })
    const blank = createServer((_request, response) => {
      response
        .writeHead(200, { 'content-type': 'text/html' })
        .end('<!doctype html><title>blank</title><p>blank</p>')
    })
    await new Promise<void>((resolve) => blank.listen(0, '127.0.0.1', resolve))
    const blankUrl = `http://127.0.0.1:${(blank.address() as AddressInfo).port}/`
    const browser = await launchChromium()
    try {
      const url = demo.server.url
      const login = await fetch(`${url}/api/v1/auth/login`, {
        method: 'POST',
        headers: { 'content-type': 'application/json' },
        body: JSON.stringify({ email: 'demo@latchkey.local', password }),
      })
      const { token } = (await login.json()) as { token: string }
      for (let i = demo.data.locks.length; i < LOCKS; i++) {
        await fetch(`${url}/api/v1/locks`, {
          method: 'POST',
          headers: { 'content-type': 'application/json', authorization: `Bearer ${token}` },
          body: JSON.stringify({
            name: `Door ${i + 1}`,
            timezone: 'Europe/Berlin',
            gatewayId: demo.data.gateway.id,
          }),
        })
      }
      const context = await browser.newContext()
      await context.request.post(`${url}/api/v1/auth/login`, {
        data: { email: 'demo@latchkey.local', password },
      })
      const page = await context.newPage()
      const portalJs = await scriptBytes(page, url)
      const appJs = await scriptBytes(page, `${url}/app`)

      const list: number[] = []
      const floor: number[] = []
      for (let run = 0; run < RUNS; run++) {
        const blankStarted = performance.now()
        await page.goto(blankUrl)
        await page.getByText('blank').waitFor()
        floor.push(performance.now() - blankStarted)
        const started = performance.now()
        await page.goto(url)
        await page
          .locator('table[aria-label="My Locks"] tbody tr')
          .nth(LOCKS - 1)
          .waitFor()
        list.push(performance.now() - started)
      }
      const listMs = median(list)
      const floorMs = median(floor)
      return [
        {
          name: 'JS of the first load of / (gzip)',
          value: formatNumber(portalJs / 1024),
          unit: 'KiB',
          note: 'budget 250 KB',
        },
        {
          name: 'JS of the first load of /app (gzip)',
          value: formatNumber(appJs / 1024),
          unit: 'KiB',
          note: 'budget 120 KB',
        },
        {
          name: `navigation → ${LOCKS} locks listed`,
          value: formatNumber(listMs),
          unit: 'ms (median)',
          note: `${RUNS} runs; aim ≤ 1 s`,
        },
        {
          name: 'floor: navigation to a blank static page',
          value: formatNumber(floorMs),
          unit: 'ms (median)',
          note: `${RUNS} runs`,
        },
        { name: 'lock list / floor', value: formatNumber(listMs / floorMs), unit: '×' },
      ]
    } finally {
      await browser.close()
      blank.close()
      await demo.close()
      rmSync(dataDir, { recursive: true, force: true })
    }
  },
})
