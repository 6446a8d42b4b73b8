/** Live updates: every event of the organization (server-sent events) refreshes what is shown. */
import { type Query, useQueryClient } from '@tanstack/react-query'
import { useEffect } from 'react'

/** A page of older events on its way (Activity's "Show older events"): a refresh would cancel it. */
const fetchingMore = (query: Query) =>
  query.state.fetchStatus === 'fetching' && query.state.fetchMeta?.fetchMore !== undefined

export function useLiveEvents(enabled: boolean): void {
  const client = useQueryClient()
  useEffect(() => {
    if (!enabled) return
    const source = new EventSource('/api/v1/events/stream')
    source.onmessage = () => {
      void client.invalidateQueries({ predicate: (query) => !fetchingMore(query) })
    }
    return () => source.close()
  }, [enabled, client])
}
