/**
 * The outbound rule's setting for webhook URLs given through the API: the webhook worker running on
 * the same database (started with the server's environment) says it; without one, this process's
 * environment (`LATCHKEY_WEBHOOK_ALLOW_PRIVATE`).
 */
import { allowPrivateTargets, type Resolve } from '../http/index.ts'
import type { Db } from '../store/index.ts'

export interface OutboundSettings {
  allowPrivate: boolean
  resolve?: Resolve | undefined
}

const running = new Map<Db, OutboundSettings>()

export function workerSettings(db: Db): OutboundSettings {
  return running.get(db) ?? { allowPrivate: allowPrivateTargets() }
}

/** Registers the setting of a worker on `db`; the returned function removes it. */
export function useSettings(db: Db, settings: OutboundSettings): () => void {
  running.set(db, settings)
  return () => {
    if (running.get(db) === settings) running.delete(db)
  }
}
