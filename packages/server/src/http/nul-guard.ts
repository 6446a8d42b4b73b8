/**
 * PostgreSQL text cannot hold the NUL character (U+0000): a request carrying one in any string of its
 * path, query or body is refused as 400 `validation_failed` naming the field, before a route runs.
 */

import type { FieldError } from '@latchkey/core'
import { LatchkeyError } from '@latchkey/core'
import type { FastifyInstance } from 'fastify'

/** Paths (dotted, as validation errors name them) of the strings under `value` that hold a NUL. */
function nulFields(value: unknown, path: string, found: string[], depth = 0): void {
  if (found.length >= 10 || depth > 32) return
  if (typeof value === 'string') {
    if (value.includes('\u0000')) found.push(path)
  } else if (Array.isArray(value)) {
    for (const [i, item] of value.entries())
      nulFields(item, path === '' ? String(i) : `${path}.${i}`, found, depth + 1)
  } else if (typeof value === 'object' && value !== null) {
    for (const [key, item] of Object.entries(value)) {
      if (key.includes('\u0000')) found.push(path === '' ? key : `${path}.${key}`)
      nulFields(item, path === '' ? key : `${path}.${key}`, found, depth + 1)
    }
  }
}

export function registerNulGuard(app: FastifyInstance): void {
  app.addHook('preValidation', async (request) => {
    const errors: FieldError[] = []
    for (const [where, value] of [
      ['params', request.params],
      ['querystring', request.query],
      ['body', request.body],
    ] as const) {
      const found: string[] = []
      nulFields(value, '', found)
      for (const field of found)
        errors.push({ in: where, field, message: 'must not contain the NUL character' })
    }
    if (errors.length > 0) {
      throw new LatchkeyError('validation_failed', `invalid ${errors.map((e) => e.field).join(', ')}`, {
        details: { errors },
      })
    }
  })
}
