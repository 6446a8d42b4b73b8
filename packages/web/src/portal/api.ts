import { QueryClient } from '@tanstack/react-query'
import { makeClient } from '../api/client.ts'

/** The portal signs in with the session cookie. */
export const api = makeClient()
export const queryClient = new QueryClient({
  defaultOptions: { queries: { retry: false, refetchOnWindowFocus: false } },
})
