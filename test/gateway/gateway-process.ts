/**
 * A gateway in its own process, for tests that kill it: `node --import tsx gateway-process.ts`
 * with LATCHKEY_TEST_SIM = JSON of runSim's options. Prints `READY <control url>` when it listens.
 */
import { runSim } from '../../packages/gateway/src/sim.ts'

const options = JSON.parse(process.env.LATCHKEY_TEST_SIM ?? '{}')
const sim = await runSim({ ...options, controlPort: 0, log: (line: string) => console.error(line) })
console.log(`READY ${sim.controlUrl}`)
