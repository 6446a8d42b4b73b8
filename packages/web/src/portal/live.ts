/** Live updates: every event of the organization (server-sent events) refreshes what is shown. */
import { useQueryClient } from '@tanstack/react-query'
import { useEffect } from 'react'

export function useLiveEvents(enabled: boolean): void {
  const client = useQueryClient()
  useEffect(() => {
    if (!enabled) return
    const source = new EventSource('/api/v1/events/stream')
    source.onmessage = () => {
      void client.invalidateQueries()
    }
    return () => source.close()
  }, [enabled, client])
}
