/**
 * Compiles the `latchkey` command to JavaScript, packages/cli/dist/latchkey.js, so that it runs on
 * Node.js with no TypeScript loader (SPEC §15). The workspace's own packages are compiled in; every
 * other package stays an import, loaded from node_modules as installed. What is imported on demand
 * (the Matter controller and virtual lock: matter.js takes most of a start to load) is a chunk of its
 * own in dist/chunks, loaded only by the server or command that needs it.
 */
import { rmSync } from 'node:fs'
import { join } from 'node:path'
import { fileURLToPath } from 'node:url'
import { build } from 'esbuild'

const cli = fileURLToPath(new URL('..', import.meta.url))
// chunks of an earlier build are named by their hash: none may linger
rmSync(join(cli, 'dist'), { recursive: true, force: true })

/** Bare imports other than `@latchkey/…` are left to Node.js. */
const installedPackagesExternal = {
  name: 'installed-packages-external',
  setup(b) {
    b.onResolve({ filter: /^[^./]/ }, (args) =>
      args.path.startsWith('@latchkey/') ? undefined : { path: args.path, external: true },
    )
  },
}

await build({
  absWorkingDir: cli,
  entryPoints: { latchkey: 'src/main.ts' },
  outdir: 'dist',
  chunkNames: 'chunks/[name]-[hash]',
  splitting: true,
  bundle: true,
  platform: 'node',
  format: 'esm',
  target: 'node20',
  sourcemap: true,
  logLevel: 'warning',
  plugins: [installedPackagesExternal],
})
