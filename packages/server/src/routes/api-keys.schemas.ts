import { z } from 'zod'
import { list, ZTimestamp } from '../http/index.ts'

export const ZCreateApiKeyRequest = z.strictObject({ name: z.string().trim().min(1).max(100) })
export type TCreateApiKeyRequest = z.infer<typeof ZCreateApiKeyRequest>

export const ZApiKey = z
  .object({
    id: z.uuid(),
    name: z.string(),
    /** The key's first characters, to tell keys apart. */
    prefix: z.string(),
    createdBy: z.uuid(),
    createdAt: ZTimestamp,
    lastUsedAt: ZTimestamp.nullable(),
  })
  .meta({ id: 'ApiKey' })
export type TApiKey = z.infer<typeof ZApiKey>

export const ZCreateApiKeyResponse = ZApiKey.extend({
  /** The key itself: shown this once, never again. */
  key: z.string(),
})
export type TCreateApiKeyResponse = z.infer<typeof ZCreateApiKeyResponse>

export const ZListApiKeysResponse = list(ZApiKey)
export type TListApiKeysResponse = z.infer<typeof ZListApiKeysResponse>
