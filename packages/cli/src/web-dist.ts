/** Where `npm install` built the portal and the app (packages/web/dist), served by `latchkey serve`. */
import { dirname, join } from 'node:path'
import { fileURLToPath } from 'node:url'

export function webDist(): string {
  return join(dirname(fileURLToPath(import.meta.resolve('@latchkey/web/package.json'))), 'dist')
}
