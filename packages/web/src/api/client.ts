/** The API client, typed from the server's OpenAPI document (schema.gen.d.ts is generated). */
import createClient from 'openapi-fetch'
import type { components, paths } from './schema.gen'

export type Schemas = components['schemas']
export type Lock = Schemas['Lock']
export type AccessCode = Schemas['AccessCode']
export type UniqueCode = Schemas['UniqueCode']
export type Permission = Schemas['Permission']
export type ApiEvent = Schemas['Event']
export type Problem = Schemas['Problem']

/** A refusal of the API, with the problem's sentence for a person. */
export class ApiError extends Error {
  readonly code: string
  readonly status: number
  readonly retryAfterSeconds: number | null
  constructor(problem: Partial<Problem>, status: number, retryAfter: string | null) {
    super(sentence(problem.detail ?? problem.title ?? 'Something went wrong. Please try again.'))
    this.code = problem.code ?? 'unknown'
    this.status = status
    this.retryAfterSeconds = retryAfter === null ? null : Number(retryAfter)
  }
}

/** "the lock is offline" → "The lock is offline." */
export function sentence(text: string): string {
  const trimmed = text.trim()
  if (trimmed === '') return trimmed
  const first = trimmed[0]!.toUpperCase() + trimmed.slice(1)
  return /[.!?]$/.test(first) ? first : `${first}.`
}

export function makeClient(token?: () => string | null) {
  const client = createClient<paths>({ baseUrl: '' })
  if (token !== undefined) {
    client.use({
      onRequest({ request }) {
        const value = token()
        if (value !== null) request.headers.set('authorization', `Bearer ${value}`)
        return request
      },
    })
  }
  return client
}

/** The data of an answer, or an ApiError with the problem's words. */
export async function ok<T>(
  pending: Promise<{ data?: T; error?: unknown; response: Response }>,
): Promise<NonNullable<T>> {
  const { data, error, response } = await pending
  if (error !== undefined || !response.ok) {
    throw new ApiError(
      (error ?? {}) as Partial<Problem>,
      response.status,
      response.headers.get('retry-after'),
    )
  }
  return data as NonNullable<T>
}
export type Property = Schemas['Property']
export type Stay = Schemas['Stay']
export type Calendar = Schemas['Calendar']
