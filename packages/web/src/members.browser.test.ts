/**
 * Sign-up, invitations and roles in chromium, on a server of its own with an empty database
 * (LATCHKEY_SIGNUP's default `first`): the first person signs up and is the owner; Sign up is then
 * no longer offered; the owner invites someone as Admin, who opens the link, sets a password and is
 * a member with that role; the owner changes the role, revokes an invitation, removes a member.
 * Then the owner adds a gateway (its login shown once), gives it a new token and removes it, and the
 * lock behind it is said to have no gateway.
 * The portal is built into a directory of its own, so other browser tests never see a half-written one.
 */
import { randomBytes } from 'node:crypto'
import { mkdtempSync, rmSync } from 'node:fs'
import { tmpdir } from 'node:os'
import { join } from 'node:path'
import { fileURLToPath } from 'node:url'
import AxeBuilder from '@axe-core/playwright'
import { type RunningServer, startServer } from '@latchkey/server'
import type { Browser, BrowserContext, Page } from 'playwright-core'
import { build } from 'vite'
import { afterAll, beforeAll, describe, expect, it } from 'vitest'
import { launchChromium } from '../test/chromium.ts'

const webRoot = fileURLToPath(new URL('..', import.meta.url))
const webDir = mkdtempSync(join(tmpdir(), 'latchkey-web-members-'))
const dataDir = mkdtempSync(join(tmpdir(), 'latchkey-members-'))
const OWNER = { email: 'olga@harbour.test', password: 'owner password 1' }
const INVITEE = { email: 'ada@harbour.test', password: 'ada password 1' }
let server: RunningServer
let browser: Browser
let url: string

beforeAll(async () => {
  await build({
    root: webRoot,
    logLevel: 'warn',
    configFile: join(webRoot, 'vite.config.ts'),
    build: { outDir: webDir, emptyOutDir: true },
  })
  server = await startServer({
    port: 0,
    host: '127.0.0.1',
    dataDir,
    mqttPort: 0,
    logger: false,
    reconciler: false,
    webDir,
    env: { LATCHKEY_MASTER_KEY: randomBytes(32).toString('base64') },
  })
  url = server.url
  browser = await launchChromium()
}, 120_000)

afterAll(async () => {
  await browser?.close()
  await server?.close()
  rmSync(dataDir, { recursive: true, force: true })
  rmSync(webDir, { recursive: true, force: true })
})

async function axe(page: Page, screen: string): Promise<void> {
  const result = await new AxeBuilder({ page }).analyze()
  const bad = result.violations.filter((v) => v.impact === 'serious' || v.impact === 'critical')
  expect(
    bad.map((v) => `${screen}: ${v.id} ${v.nodes.map((n) => n.target.join(' ')).join(', ')}`),
    screen,
  ).toEqual([])
}

async function newPage(): Promise<{ context: BrowserContext; page: Page }> {
  const context = await browser.newContext({ viewport: { width: 1280, height: 900 } })
  context.setDefaultTimeout(20_000)
  return { context, page: await context.newPage() }
}

const membersTable = (page: Page) => page.getByRole('table', { name: 'Members' })

describe('sign-up, invitations and roles in the portal', () => {
  it('the first person signs up; an invitee joins by the link as Admin; the owner changes the role', {
    timeout: 180_000,
  }, async () => {
    const owner = await newPage()
    await owner.context.grantPermissions(['clipboard-read', 'clipboard-write'], { origin: url })
    const page = owner.page
    await page.goto(url)
    await page.getByRole('button', { name: 'Sign up: create an organization' }).click()
    await page.getByRole('heading', { name: 'Latchkey — Sign up' }).waitFor()
    await axe(page, 'Sign up')
    await page.getByLabel('Organization name').fill('Harbour Flats')
    await page.getByLabel('Email').fill(OWNER.email)
    await page.getByLabel('Password').fill(OWNER.password)
    await page.getByRole('button', { name: 'Sign up', exact: true }).click()
    await page.getByRole('heading', { name: 'My Locks' }).waitFor()

    // the server now has an organization: nobody else is offered Sign up
    const stranger = await newPage()
    await stranger.page.goto(url)
    await stranger.page.getByRole('heading', { name: 'Latchkey — Log in' }).waitFor()
    await stranger.page
      .getByText('New to Latchkey? Ask an owner or admin of your organization for an invitation link.')
      .waitFor()
    expect(await stranger.page.getByRole('button', { name: /Sign up/ }).count()).toBe(0)
    await stranger.context.close()

    await page.getByRole('link', { name: 'Members' }).click()
    await page.getByRole('heading', { name: 'Members', exact: true }).waitFor()
    await page.getByLabel('Email of the person').fill(INVITEE.email)
    await page.getByLabel('Role', { exact: true }).selectOption({ label: 'Admin' })
    await page.getByRole('button', { name: 'Invite', exact: true }).click()
    await page
      .getByText(
        `Send this link to ${INVITEE.email}. It is shown only now, works once, and is valid for 7 days.`,
      )
      .waitFor()
    const link = await page.getByLabel('Invitation link').inputValue()
    expect(link).toMatch(new RegExp(`^${url}/invitation#lki_[A-Za-z0-9_-]{43}$`))
    await page.getByRole('button', { name: 'Copy link' }).click()
    await page.getByText('Copied.').waitFor()
    expect(await page.evaluate(() => navigator.clipboard.readText())).toBe(link)
    const pending = page.getByRole('table', { name: 'Pending invitations' })
    await pending
      .getByRole('row', { name: new RegExp(`${INVITEE.email} Admin Waiting to be accepted`) })
      .waitFor()
    await axe(page, 'Members')

    // the invitee, in a browser of their own, opens the link and chooses a password
    const invitee = await newPage()
    await invitee.page.goto(link)
    await invitee.page.getByRole('heading', { name: 'Accept invitation' }).waitFor()
    await invitee.page.getByText(`You are invited to Harbour Flats as admin, at ${INVITEE.email}.`).waitFor()
    await axe(invitee.page, 'Accept invitation')
    await invitee.page.getByLabel('Your name (optional)').fill('Ada')
    await invitee.page.getByLabel('Password').fill(INVITEE.password)
    await invitee.page.getByRole('button', { name: 'Accept invitation' }).click()
    await invitee.page.getByRole('heading', { name: 'My Locks' }).waitFor()
    await invitee.page.getByRole('link', { name: 'Members' }).click()
    // an admin: sees every member, can invite
    await expect
      .poll(() => membersTable(invitee.page).getByLabel(`Role of ${INVITEE.email}`).inputValue())
      .toBe('admin')
    await membersTable(invitee.page).getByText(`${INVITEE.email} (you)`).waitFor()
    await invitee.page.getByRole('heading', { name: 'Invite someone' }).waitFor()

    // the link works once
    const again = await newPage()
    await again.page.goto(link)
    await again.page
      .getByRole('alert')
      .getByText(
        'This invitation link is not valid: it was used or revoked, or it is more than 7 days old. Ask for a new one.',
      )
      .waitFor()
    await again.context.close()

    // the owner sees the invitation accepted and makes the invitee a Member
    await page.reload()
    await page.getByText('No invitation is waiting to be accepted.').waitFor()
    const role = membersTable(page).getByLabel(`Role of ${INVITEE.email}`)
    expect(await role.inputValue()).toBe('admin')
    await role.selectOption({ label: 'Member' })
    await page.getByText(`${INVITEE.email} is now member.`).waitFor()

    // from the invitee's next request on: a member reads the list and manages nothing
    await invitee.page.reload()
    await membersTable(invitee.page)
      .getByRole('row', { name: `${INVITEE.email} (you) Member` })
      .waitFor()
    expect(await invitee.page.getByRole('heading', { name: 'Invite someone' }).count()).toBe(0)
    expect(await membersTable(invitee.page).getByRole('combobox').count()).toBe(0)

    // an owner cannot step down while the only one: refused in words
    await membersTable(page).getByLabel(`Role of ${OWNER.email}`).selectOption({ label: 'Admin' })
    await page
      .getByRole('alert')
      .getByText('The last owner cannot change role: make someone else an owner first.')
      .waitFor()
    expect(await membersTable(page).getByLabel(`Role of ${OWNER.email}`).inputValue()).toBe('owner')

    // revoke a pending invitation; remove a member
    await page.getByLabel('Email of the person').fill('sam@harbour.test')
    await page.getByRole('button', { name: 'Invite', exact: true }).click()
    await pending.getByText('sam@harbour.test').waitFor()
    await page.getByRole('button', { name: 'Revoke the invitation for sam@harbour.test' }).click()
    await page.getByText('No invitation is waiting to be accepted.').waitFor()
    await page.getByRole('button', { name: `Remove ${INVITEE.email}` }).click()
    await expect.poll(() => membersTable(page).getByText(INVITEE.email).count()).toBe(0)
    await invitee.page.reload()
    await invitee.page.getByRole('heading', { name: 'Latchkey — Log in' }).waitFor()

    await invitee.context.close()
    await owner.context.close()
  })
})

describe('gateways in the portal', () => {
  it('adds a gateway with its login shown once, gives it a new token, removes it and names its lock', {
    timeout: 120_000,
  }, async () => {
    const { context, page } = await newPage()
    await page.goto(url)
    await page.getByLabel('Email').fill(OWNER.email)
    await page.getByLabel('Password').fill(OWNER.password)
    await page.getByRole('button', { name: 'Log in' }).click()
    await page.getByRole('link', { name: 'Gateways' }).click()
    await page.getByText('No gateway yet.').waitFor()

    await page.getByLabel('Gateway name').fill('Attic')
    await page.getByRole('button', { name: 'Add gateway' }).click()
    await page
      .getByText('Attic was added. Give the gateway this login: the token is shown only now.')
      .waitFor()
    const token = await page.getByTestId('gateway-token').innerText()
    expect(token.length).toBeGreaterThanOrEqual(20)
    const gatewayId = (await page.locator('dd code').first().innerText()).trim()
    expect(await page.getByLabel('Start a Latchkey gateway with').inputValue()).toBe(
      `latchkey sim --server ${url} --gateway-id ${gatewayId} --gateway-token ${token} --mqtt-url ${server.mqttUrl}`,
    )
    await axe(page, 'Gateways')

    // a lock behind it, made over the API
    const login = await fetch(`${url}/api/v1/auth/login`, {
      method: 'POST',
      headers: { 'content-type': 'application/json' },
      body: JSON.stringify(OWNER),
    }).then((r) => r.json() as Promise<{ token: string }>)
    const lock = await fetch(`${url}/api/v1/locks`, {
      method: 'POST',
      headers: { 'content-type': 'application/json', authorization: `Bearer ${login.token}` },
      body: JSON.stringify({ name: 'Attic door', timezone: 'Europe/Berlin', gatewayId }),
    })
    expect(lock.status).toBe(201)

    // the token is shown only once
    await page.reload()
    const gateways = page.getByRole('table', { name: 'Gateways' })
    await gateways.getByRole('row', { name: /^Attic Offline 1/ }).waitFor()
    expect(await page.getByTestId('gateway-token').count()).toBe(0)

    await page.getByRole('button', { name: 'New token for Attic' }).click()
    await page
      .getByText(
        'The old token of Attic stops working at once; the gateway is offline until it is given the new one.',
      )
      .waitFor()
    await page.getByRole('button', { name: 'Make a new token' }).click()
    await page.getByText('Attic has a new token.', { exact: false }).waitFor()
    const fresh = await page.getByTestId('gateway-token').innerText()
    expect(fresh).not.toBe(token)
    expect(fresh.length).toBeGreaterThanOrEqual(20)

    await page.getByRole('button', { name: 'Remove Attic' }).click()
    await page
      .getByText('Attic can no longer connect, and its lock cannot be reached until given another gateway.')
      .waitFor()
    await page.getByRole('button', { name: 'Remove gateway' }).click()
    await page
      .getByText(
        'Attic was removed: it can no longer connect. Attic door has no gateway now and cannot be reached until it is given another one.',
      )
      .waitFor()
    expect(await page.getByTestId('gateway-token').count()).toBe(0)
    await page.getByText('No gateway yet.').waitFor()

    await page.getByRole('link', { name: 'My Locks' }).click()
    await page
      .getByRole('row', { name: /Attic door/ })
      .getByText('Offline: no gateway')
      .waitFor()
    await context.close()
  })
})
