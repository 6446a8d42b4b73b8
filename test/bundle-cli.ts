/**
 * Before any test: compile the `latchkey` command again (packages/cli/scripts/bundle.mjs), so the
 * processes tests start as `latchkey …` run the sources as they are now, compiled as users run them.
 */
import { execFileSync } from 'node:child_process'
import { fileURLToPath } from 'node:url'

export default function bundleCli(): void {
  execFileSync(
    process.execPath,
    [fileURLToPath(new URL('../packages/cli/scripts/bundle.mjs', import.meta.url))],
    {
      stdio: 'inherit',
    },
  )
}
