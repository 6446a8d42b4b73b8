import { startEmbeddedTestBroker } from './harness.ts'
import { gatewaySuite } from './suite.ts'

gatewaySuite('gateway on the embedded broker', startEmbeddedTestBroker)
