/**
 * What the tests of unique codes, shares and Code Login set up through the API: an organization
 * with unique codes on, locks, codes and shares. (Used by *.test.ts only.)
 */
import type { FastifyInstance } from 'fastify'
import type { TestAccount } from '../testing.ts'

export type Method = 'GET' | 'POST' | 'PATCH' | 'DELETE'

export function caller(app: FastifyInstance) {
  return (
    account: TestAccount | { headers: Record<string, string> } | null,
    method: Method,
    url: string,
    payload?: unknown,
  ) =>
    app.inject({
      method,
      url: `/api/v1${url}`,
      headers: account?.headers ?? {},
      ...(payload === undefined ? {} : { payload: payload as object }),
    })
}

async function ok<T>(
  response: Promise<{ statusCode: number; body: string; json(): unknown }>,
  status: number,
): Promise<T> {
  const r = await response
  if (r.statusCode !== status) throw new Error(`expected ${status}, got ${r.statusCode}: ${r.body}`)
  return r.json() as T
}

export async function enableUniqueCodes(app: FastifyInstance, owner: TestAccount): Promise<void> {
  await ok(caller(app)(owner, 'PATCH', '/organization/settings', { uniqueCodesEnabled: true }), 200)
}

export async function createLock(
  app: FastifyInstance,
  owner: TestAccount,
  name: string,
  timezone = 'UTC',
): Promise<string> {
  return (await ok<{ id: string }>(caller(app)(owner, 'POST', '/locks', { name, timezone }), 201)).id
}

export interface CreatedCode {
  id: string
  code: string
}

export async function createCode(
  app: FastifyInstance,
  owner: TestAccount,
  description: string,
  expiresAt: string,
): Promise<CreatedCode> {
  return ok<CreatedCode>(caller(app)(owner, 'POST', '/unique-codes', { description, expiresAt }), 201)
}

export async function share(
  app: FastifyInstance,
  owner: TestAccount,
  body: Record<string, unknown>,
): Promise<{ id: string; lockId: string }[]> {
  return (
    await ok<{ items: { id: string; lockId: string }[] }>(
      caller(app)(owner, 'POST', '/permissions', body),
      201,
    )
  ).items
}

export const problemBody = (status: number, code: string, title: string, detail: string) => ({
  type: `urn:latchkey:error:${code}`,
  title,
  status,
  code,
  detail,
})
