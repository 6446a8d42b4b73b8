/**
 * The lock's real-time clock. It keeps UTC, runs off a crystal that drifts by `driftPpm` parts per
 * million against the true time (the world clock), and is battery-backed: the value is stored as
 * "what it showed at one world instant", so it keeps running while the process is down. After a power
 * loss it is unset (null) until a `set_time` arrives.
 */
import { LatchkeyError } from '@latchkey/core'
import type { RtcState } from './state.ts'

/** A crystal this far off is broken, not drifting. */
export const MAX_DRIFT_PPM = 100_000

/** What the clock shows at this world instant (to the ms), or null when unset. */
export function rtcNow(rtc: RtcState, worldMs: number): number | null {
  if (rtc.base === null) return null
  const elapsed = worldMs - rtc.base.worldMs
  return Math.round(rtc.base.valueMs + elapsed * (1 + rtc.driftPpm * 1e-6))
}

/** Sets the clock; returns its value just before (null when it was unset). */
export function rtcSet(rtc: RtcState, worldMs: number, valueMs: number): number | null {
  const before = rtcNow(rtc, worldMs)
  rtc.base = { worldMs, valueMs }
  return before
}

/** Changes the crystal's drift from now on (the time already shown is kept). */
export function rtcSetDrift(rtc: RtcState, worldMs: number, ppm: number): void {
  if (!Number.isFinite(ppm) || Math.abs(ppm) > MAX_DRIFT_PPM) {
    throw new LatchkeyError('validation_failed', `drift must be a number of ppm within ±${MAX_DRIFT_PPM}`)
  }
  const now = rtcNow(rtc, worldMs)
  if (now !== null) rtc.base = { worldMs, valueMs: now }
  rtc.driftPpm = ppm
}

/** Moves this clock alone (negative: back). An unset clock stays unset. */
export function rtcAdvance(rtc: RtcState, ms: number): void {
  if (!Number.isFinite(ms))
    throw new LatchkeyError('validation_failed', 'advance must be a finite number of ms')
  if (rtc.base !== null) rtc.base = { worldMs: rtc.base.worldMs, valueMs: rtc.base.valueMs + ms }
}

/** Power loss: the time is gone, the crystal is the same. */
export function rtcUnset(rtc: RtcState): void {
  rtc.base = null
}
