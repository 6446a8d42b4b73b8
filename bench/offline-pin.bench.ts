/**
 * Offline PIN verification on the lock (SPEC §6): what one typed code costs, in HMACs and in time,
 * against one HMAC-SHA256 measured in the same run.
 */
import {
  HOUR_MS,
  issueOfflinePin,
  MAX_OFFLINE_HMACS,
  OFFLINE_TABLE,
  type OfflineKind,
  offlineFirstUseWindow,
  verifyOfflinePin,
} from '@latchkey/core'
import { deriveLockKeys, hmacSha256, randomSecret } from '@latchkey/protocol'
import { defineSuite, formatNumber, type Measurement, measureTogether, timeRow } from './lib.ts'

const lockId = 'lock_bench_01'
const pinKey = deriveLockKeys(randomSecret()).pin
const T0 = Date.UTC(2026, 2, 14, 9, 0, 0) // on the hour: the most start hours to try
const VALID_H = OFFLINE_TABLE.filter((e) => e !== null).map((e) => e.h)
const SAMPLES = 4096
const STATS_ATTEMPTS = 20_000

const randomInt = (n: number) => Math.floor(Math.random() * n)
const randomDigitsWithValidH = () =>
  String(VALID_H[randomInt(VALID_H.length)]).padStart(2, '0') +
  String(randomInt(100_000_000)).padStart(8, '0')

/** A code issued for this lock that is inside its first-use window at `nowMs` (a real user typing it). */
function matchingAttempt(): { digits: string; nowMs: number } {
  const kinds: OfflineKind[] = ['one_time', 'timed', 'permanent']
  const kind = kinds[randomInt(kinds.length)]!
  const startsAt = T0 + randomInt(365 * 24) * HOUR_MS
  const endsAt = kind === 'timed' ? startsAt + (1 + randomInt(30 * 24)) * HOUR_MS : undefined
  const code = issueOfflinePin({
    hmac: hmacSha256,
    pinKey,
    lockId,
    kind,
    startsAt,
    endsAt,
    livePins: new Set(),
  })
  const { fromMs, toMs } = offlineFirstUseWindow(code)
  return { digits: code.pin, nowMs: fromMs + randomInt(toMs - fromMs + 1) }
}

export default defineSuite({
  name: 'offline-pin',
  run() {
    // HMAC counts over many random attempts (no timing involved).
    let worst = 0
    let total = 0
    for (let i = 0; i < STATS_ATTEMPTS; i++) {
      const nowMs = T0 + randomInt(365 * 24 * HOUR_MS)
      const { hmacs } = verifyOfflinePin({
        hmac: hmacSha256,
        pinKey,
        lockId,
        digits: randomDigitsWithValidH(),
        nowMs,
      })
      worst = Math.max(worst, hmacs)
      total += hmacs
    }
    const matching = Array.from({ length: 2000 }, matchingAttempt)
    let matchWorst = 0
    let matchTotal = 0
    for (const attempt of matching) {
      const verdict = verifyOfflinePin({ hmac: hmacSha256, pinKey, lockId, ...attempt })
      if (verdict.result !== 'match') throw new Error(`issued code refused: ${attempt.digits}`)
      matchWorst = Math.max(matchWorst, verdict.hmacs)
      matchTotal += verdict.hmacs
    }

    // Times, in the same run: one HMAC over a message of the size the verifier hashes, then attempts.
    const message = new Uint8Array(new TextEncoder().encode(lockId).length + 5)
    const wrong = Array.from({ length: SAMPLES }, randomDigitsWithValidH)
    const hits = matching.slice(0, 512)
    const [hmac, wrongOnHour, matched, malformed] = measureTogether([
      {
        name: 'HMAC-SHA256, one call (node:crypto)',
        fn: (i) => {
          message[message.length - 1] = i
          return hmacSha256(pinKey, message)
        },
      },
      {
        name: 'verify: wrong code, valid H, now on the hour (worst case)',
        fn: (i) =>
          verifyOfflinePin({ hmac: hmacSha256, pinKey, lockId, digits: wrong[i % SAMPLES]!, nowMs: T0 }),
      },
      {
        name: 'verify: issued code inside its first-use window',
        fn: (i) => verifyOfflinePin({ hmac: hmacSha256, pinKey, lockId, ...hits[i % hits.length]! }),
      },
      {
        name: 'verify: unused H (92–99), rejected before any HMAC',
        fn: (i) =>
          verifyOfflinePin({
            hmac: hmacSha256,
            pinKey,
            lockId,
            digits: `9${5 + (i % 5)}12345678`,
            nowMs: T0,
          }),
      },
    ]) as [Measurement, Measurement, Measurement, Measurement]
    let wrongHmacs = 0
    let wrongWorst = 0
    for (const digits of wrong) {
      const { hmacs } = verifyOfflinePin({ hmac: hmacSha256, pinKey, lockId, digits, nowMs: T0 })
      wrongHmacs += hmacs
      wrongWorst = Math.max(wrongWorst, hmacs)
    }
    const meanWrongOnHour = wrongHmacs / SAMPLES
    let hitHmacs = 0
    for (const attempt of hits)
      hitHmacs += verifyOfflinePin({ hmac: hmacSha256, pinKey, lockId, ...attempt }).hmacs
    const meanHit = hitHmacs / hits.length
    const ratioRow = (m: Measurement, hmacsPerAttempt: number) => ({
      name: '… as a ratio to one HMAC',
      value: formatNumber(m.medianNs / hmac.medianNs),
      unit: '× HMAC (medians)',
      note: `fastest batches: ${formatNumber(m.minNs / hmac.minNs)}; pure HMAC cost would be ${formatNumber(hmacsPerAttempt)}`,
    })

    return [
      {
        name: 'HMACs per attempt: random wrong code, valid H, random instant',
        value: `${formatNumber(total / STATS_ATTEMPTS)} mean / ${worst} worst`,
        unit: 'HMAC',
        note: `${STATS_ATTEMPTS.toLocaleString('en-US')} attempts; budget ${MAX_OFFLINE_HMACS}`,
      },
      {
        name: 'HMACs per attempt: issued code inside its first-use window',
        value: `${formatNumber(matchTotal / matching.length)} mean / ${matchWorst} worst`,
        unit: 'HMAC',
        note: `${matching.length.toLocaleString('en-US')} codes of random kind, start and duration; newest start hour tried first`,
      },
      timeRow(hmac),
      {
        name: 'HMACs per attempt: random wrong code, valid H, now on the hour',
        value: `${formatNumber(meanWrongOnHour)} mean / ${wrongWorst} worst`,
        unit: 'HMAC',
        note: `${SAMPLES.toLocaleString('en-US')} attempts; the worst instant for the search (27 start hours for 24 h kinds)`,
      },
      timeRow(wrongOnHour, `${formatNumber(meanWrongOnHour)} HMACs/attempt`),
      ratioRow(wrongOnHour, meanWrongOnHour),
      timeRow(matched, `${formatNumber(meanHit)} HMACs/attempt`),
      ratioRow(matched, meanHit),
      timeRow(malformed),
    ]
  },
})
