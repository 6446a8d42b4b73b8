/** The demo's simulator (`/sim`, only on a server started with --demo); outside the API's document. */
import { useQuery } from '@tanstack/react-query'

export interface SimClock {
  nowMs: number
  iso: string
  offsetMs: number
}

export function useDemo() {
  return useQuery({
    queryKey: ['sim-clock'],
    queryFn: async (): Promise<SimClock | null> => {
      const response = await fetch('/sim/clock')
      if (!response.ok) return null
      return (await response.json()) as SimClock
    },
  })
}

export async function simPost<T>(path: string, body: unknown): Promise<T> {
  const response = await fetch(path, {
    method: 'POST',
    headers: { 'content-type': 'application/json' },
    body: JSON.stringify(body),
  })
  const answer = (await response.json()) as T & { detail?: string }
  if (!response.ok) throw new Error(answer.detail ?? 'The simulator refused.')
  return answer
}
