/**
 * A stay's backup code (SPEC §11, §6): an offline code on each lock for the same window as the stay's
 * code, derived from each lock's secret, so it opens with no gateway. Asking again answers the same codes.
 */
import { LatchkeyError } from '@latchkey/core'
import { type Actor, createAccessCode, type Deps } from '../access-codes/index.ts'
import type { Stay } from '../store/index.ts'
import { stayCodesOf } from './stay-codes.ts'

export async function issueBackupCodes(deps: Deps, actor: Actor, stay: Stay): Promise<void> {
  if (stay.cancelledAt !== null) throw new LatchkeyError('conflict', 'the stay was cancelled')
  const codes = await stayCodesOf(deps, stay.id)
  const backedUp = new Set(codes.filter((c) => c.delivery === 'offline').map((c) => c.lockId))
  for (const code of codes) {
    if (code.delivery !== 'synced' || backedUp.has(code.lockId)) continue
    await createAccessCode(deps, actor, code.lockId, {
      name: `Backup – ${stay.guestName}`,
      kind: 'timed',
      startsAt: code.startsAt!.toISOString(),
      endsAt: code.endsAt!.toISOString(),
      delivery: 'offline',
      stayId: stay.id,
    })
  }
}
