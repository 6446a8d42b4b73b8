/**
 * The portal (`/`) and the end user's app (`/app`), built by packages/web into a directory of
 * static files. A GET of a page path that is no file answers the page's index.html (the app routes
 * in the browser); the API, the simulator, the probes and metrics are never shadowed: an unknown
 * path under them stays a problem+json 404.
 */
import { existsSync } from 'node:fs'
import { join } from 'node:path'
import fastifyStatic from '@fastify/static'
import type { FastifyInstance, FastifyReply, FastifyRequest } from 'fastify'

const NOT_PAGES = ['/api', '/sim', '/healthz', '/readyz', '/metrics']

/** Whether `path` belongs to the web app (and not to the API, the simulator or the probes). */
export function isPagePath(path: string): boolean {
  return !NOT_PAGES.some((prefix) => path === prefix || path.startsWith(`${prefix}/`))
}

/** The index.html that answers `path`, or null when the path is not a page. */
export function pageFor(method: string, path: string): string | null {
  if (method !== 'GET' && method !== 'HEAD') return null
  if (!isPagePath(path)) return null
  return path === '/app' || path.startsWith('/app/') ? 'app/index.html' : 'index.html'
}

export function registerWeb(app: FastifyInstance, webDir: string): boolean {
  if (!existsSync(join(webDir, 'index.html'))) return false
  app.register(fastifyStatic, {
    root: webDir,
    wildcard: false,
    index: false,
    // hashed assets never change; pages are checked every time
    setHeaders: (res, path) => {
      res.header(
        'cache-control',
        path.includes('/assets/') ? 'public, max-age=31536000, immutable' : 'no-cache',
      )
    },
  })
  return true
}

/** The SPA fallback, for the not-found handler: true when it answered. */
export function sendPage(request: FastifyRequest, reply: FastifyReply): boolean {
  if (!reply.sendFile) return false
  const page = pageFor(request.method, request.url.split('?')[0] ?? '/')
  if (page === null) return false
  reply.header('cache-control', 'no-cache')
  void reply.sendFile(page)
  return true
}
