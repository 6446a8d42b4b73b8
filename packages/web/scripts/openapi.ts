/**
 * Writes the server's OpenAPI document to generated/openapi.json: the server's app is built in
 * this process (no store is opened: only the routes' schemas are read), so the portal's types
 * always come from the API as it is in this checkout.
 */
import { mkdirSync, writeFileSync } from 'node:fs'
import { buildApp, createSecrets, type Store } from '@latchkey/server'

const app = buildApp({ store: {} as Store, secrets: createSecrets(Buffer.alloc(32, 1)) })
const response = await app.inject({ method: 'GET', url: '/api/openapi.json' })
if (response.statusCode !== 200) throw new Error(`the OpenAPI document answered ${response.statusCode}`)
const document = response.json()
const out = new URL('../generated/', import.meta.url)
mkdirSync(out, { recursive: true })
writeFileSync(new URL('openapi.json', out), `${JSON.stringify(document, null, 2)}\n`)
await app.close()
