/**
 * `npm run bench` runs every `bench/*.bench.ts` one after the other and prints one Markdown table;
 * `npm run bench -- offline-pin` runs only the files whose name contains an argument.
 * Each file's default export is a suite (lib.ts `defineSuite`).
 */
import { readdirSync } from 'node:fs'
import { basename, dirname, join } from 'node:path'
import { fileURLToPath, pathToFileURL } from 'node:url'
import { type BenchRow, type BenchSuite, formatTable, machineInfo } from './lib.ts'

const here = dirname(fileURLToPath(import.meta.url))
const filters = process.argv.slice(2).map((a) => basename(a).replace(/\.bench\.ts$/, ''))
const files = readdirSync(here)
  .filter((f) => f.endsWith('.bench.ts'))
  .filter((f) => filters.length === 0 || filters.some((name) => f.includes(name)))
  .sort()

if (files.length === 0) {
  console.error(`no benchmark matches ${filters.join(', ')}`)
  process.exit(1)
}

const machine = machineInfo()
console.log(`machine: ${machine.nproc} CPUs, ${machine.cpu}, Node ${machine.node} (${machine.platform})`)
console.log(`command: npm run bench${filters.length ? ` -- ${filters.join(' ')}` : ''}\n`)

const rows: (BenchRow & { suite: string })[] = []
for (const file of files) {
  const module = (await import(pathToFileURL(join(here, file)).href)) as { default?: BenchSuite }
  const suite = module.default
  if (!suite || typeof suite.run !== 'function') {
    console.error(`${file}: default export is not a suite`)
    process.exitCode = 1
    continue
  }
  const started = performance.now()
  process.stderr.write(`running ${suite.name} …`)
  for (const row of await suite.run()) rows.push({ suite: suite.name, ...row })
  process.stderr.write(` ${((performance.now() - started) / 1000).toFixed(1)} s\n`)
}

console.log(formatTable(rows))
