export {
  type EmbeddedBroker,
  type EmbeddedBrokerOptions,
  isPortInUse,
  startEmbeddedBroker,
} from './embedded-broker.ts'
export {
  type DynsecAcl,
  type DynsecAclType,
  type DynsecConnectOptions,
  type DynsecResponse,
  gatewayRoleAcls,
  gatewayRoleName,
  MosquittoDynsec,
  SERVER_ROLE,
  serverRoleAcls,
} from './mosquitto-dynsec.ts'
export {
  type BrokerAuthenticate,
  type BrokerPrincipal,
  gatewayPrefix,
  mayUseClientId,
  mayUseTopic,
} from './policy.ts'
