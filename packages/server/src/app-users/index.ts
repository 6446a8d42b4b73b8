export { type AppLockView, listAppLocks } from './app-locks.ts'
export {
  APP_SESSION_TOKEN_PREFIX,
  type AppPrincipal,
  deleteAppSession,
  resolveAppPrincipal,
} from './app-sessions.ts'
export { unlockFromApp } from './app-unlock.ts'
export { codeLogin } from './code-login.ts'
export { DEFAULT_CODE_LOGIN_THROTTLE } from './code-login-throttle.ts'
export { issueEKey } from './issue-ekey.ts'
export { requestRevocationSync, revokedShares, revokeEKeys } from './revocations.ts'
