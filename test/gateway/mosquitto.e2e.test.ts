import { describe } from 'vitest'
import { startMosquittoTestBroker } from './harness.ts'
import { gatewaySuite } from './suite.ts'

// Runs with `npm run test:services` (LATCHKEY_TEST_SERVICES=1): a private Mosquitto 2.0 process with
// the dynamic-security plugin, started on a free loopback port for this file.
describe.skipIf(process.env.LATCHKEY_TEST_SERVICES !== '1')('on Mosquitto', () => {
  gatewaySuite('gateway on Mosquitto with dynamic security', startMosquittoTestBroker)
})
