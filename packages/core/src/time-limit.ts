/**
 * `work`, or a rejection with `message` when it takes longer than `ms`. The work itself goes on,
 * unheard; the timer never outlives the race.
 */
export function withinTimeLimit<T>(work: Promise<T>, ms: number, message = 'timed out'): Promise<T> {
  let timer: ReturnType<typeof setTimeout> | undefined
  const late = new Promise<never>((_, reject) => {
    timer = setTimeout(() => reject(new Error(message)), ms)
  })
  return Promise.race([work, late]).finally(() => clearTimeout(timer))
}
