/** Time as the rest of the system sees it: the system clock in production, a simulated one in demos and tests. */
export interface Clock {
  now(): number
}

export const systemClock: Clock = { now: () => Date.now() }

/**
 * A clock that runs with its base but can be moved forward (the demo's "fast-forward a schedule"),
 * or stopped and moved by hand (tests): `new SimulatedClock({ frozenAt: t })`.
 */
export class SimulatedClock implements Clock {
  #offsetMs = 0
  #frozenAt: number | null
  readonly #base: Clock

  constructor(options: { base?: Clock; frozenAt?: number } = {}) {
    this.#base = options.base ?? systemClock
    this.#frozenAt = options.frozenAt ?? null
  }

  now(): number {
    return (this.#frozenAt ?? this.#base.now()) + this.#offsetMs
  }

  advance(ms: number): number {
    if (!Number.isFinite(ms) || ms < 0) throw new RangeError('a clock only moves forward')
    this.#offsetMs += ms
    return this.now()
  }

  get offsetMs(): number {
    return this.#offsetMs
  }
}
