/**
 * The architecture's arrows are a lint check (biome.json, noRestrictedImports): an import against
 * them, or a deep path into a folder of the server, fails `npm run lint`. Each case plants a file in
 * the tree, runs biome on it, and removes it.
 */
import { spawnSync } from 'node:child_process'
import { rmSync, writeFileSync } from 'node:fs'
import { join } from 'node:path'
import { describe, expect, it } from 'vitest'

const ROOT = join(import.meta.dirname, '..')
const BIOME = join(ROOT, 'node_modules', '.bin', 'biome')

function lint(path: string, text: string): { ok: boolean; output: string } {
  const file = join(ROOT, path)
  writeFileSync(file, text)
  try {
    const run = spawnSync(BIOME, ['lint', '--colors=off', path], { cwd: ROOT, encoding: 'utf8' })
    return { ok: run.status === 0, output: `${run.stdout}${run.stderr}` }
  } finally {
    rmSync(file, { force: true })
  }
}

const planted = (name: string) => `arrows-planted-${process.pid}-${name}.ts`

describe('the arrows in npm run lint', () => {
  it.each([
    ['server', 'lock'],
    ['server', 'gateway'],
    ['server', 'cli'],
    ['core', 'protocol'],
    ['protocol', 'lock'],
    ['lock', 'gateway'],
    ['gateway', 'server'],
  ])('%s importing @latchkey/%s fails', (from, to) => {
    const { ok, output } = lint(
      `packages/${from}/src/${planted(to)}`,
      `import * as other from '@latchkey/${to}'\nexport const planted = other\n`,
    )
    expect(ok).toBe(false)
    expect(output).toContain('against the architecture')
  })

  it('a deep path into a server folder fails; its index.ts passes', () => {
    const deep = lint(
      `packages/server/src/http/${planted('deep')}`,
      `import { isUuid } from '../store/db-errors.ts'\nexport const planted = isUuid\n`,
    )
    expect(deep.ok).toBe(false)
    expect(deep.output).toContain('entered through its index.ts')
    const entered = lint(
      `packages/server/src/http/${planted('index')}`,
      `import { isUuid } from '../store/index.ts'\nexport const planted = isUuid\n`,
    )
    expect(entered).toEqual({ ok: true, output: expect.any(String) })
  })

  it('the arrows that are allowed pass', () => {
    for (const [from, to] of [
      ['server', 'protocol'],
      ['gateway', 'lock'],
      ['cli', 'server'],
    ]) {
      const { ok, output } = lint(
        `packages/${from}/src/${planted(`${from}-${to}`)}`,
        `import * as other from '@latchkey/${to}'\nexport const planted = other\n`,
      )
      expect([from, to, ok, output]).toEqual([from, to, true, expect.any(String)])
    }
  })
})
