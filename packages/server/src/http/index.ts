export {
  AUTHENTICATED,
  authenticate,
  clearSessionCookie,
  OWNER_OR_ADMIN,
  presentedCredential,
  requireAuth,
  requireRole,
  SESSION_COOKIE,
  setSessionCookie,
} from './auth.ts'
export { PROBLEM_CONTENT_TYPE, registerErrorHandling, sendFrameworkError, ZProblem } from './errors.ts'
export { registerJsonBody } from './json-body.ts'
export { MetricsRegistry, registerHttpMetrics } from './metrics.ts'
export { registerNulGuard } from './nul-guard.ts'
export { registerOpenApi } from './openapi.ts'
export {
  allowPrivateTargets,
  checkedAddress,
  OutboundRefused,
  outboundGet,
  outboundRequest,
  outboundUrl,
  type Resolve,
} from './outbound-address.ts'
export {
  iso,
  isoOrNull,
  list,
  localOrNull,
  PROBLEMS,
  problems,
  requestTime,
  ZEmail,
  ZIdParams,
  ZLocalTimestamp,
  ZPassword,
  ZRole,
  ZTimestamp,
  ZTimestampQuery,
} from './schemas.ts'
export { bearerMatches, registerSystemRoutes, sendMetrics } from './system.ts'
export { registerWeb } from './web.ts'
