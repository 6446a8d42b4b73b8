/**
 * Compiles the `latchkey` command to one JavaScript file, packages/cli/dist/latchkey.js, so that it
 * runs on Node.js with no TypeScript loader (SPEC §15). The workspace's own packages are compiled in;
 * every other package stays an import, loaded from node_modules as installed.
 */
import { fileURLToPath } from 'node:url'
import { build } from 'esbuild'

const cli = fileURLToPath(new URL('..', import.meta.url))

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
  entryPoints: ['src/main.ts'],
  outfile: 'dist/latchkey.js',
  bundle: true,
  platform: 'node',
  format: 'esm',
  target: 'node20',
  sourcemap: true,
  logLevel: 'warning',
  plugins: [installedPackagesExternal],
})
