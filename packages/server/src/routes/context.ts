import type { ServerDeps } from '../context.ts'

/** What a route plugin is registered with. */
export interface RouteOptions {
  deps: ServerDeps
}
