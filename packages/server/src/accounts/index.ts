export { type ApiKeyView, createApiKey, deleteApiKey, listApiKeys } from './api-keys.ts'
export { type CreateOwnerOptions, countOrganizations, createOwner } from './create-owner.ts'
export {
  acceptInvitation,
  createInvitation,
  describeInvitation,
  getInvitation,
  INVITATION_TTL_MS,
  type InvitationView,
  listInvitations,
  revokeInvitation,
} from './invitations.ts'
export { login } from './login.ts'
export { getMe } from './me.ts'
export { listMembers, type MemberView, removeMember, updateMemberRole } from './members.ts'
export { getOrganizationSettings, updateOrganizationSettings } from './organization-settings.ts'
export { type AuthContext, deleteSession, resolveCredential, SESSION_TTL_MS } from './sessions.ts'
export {
  DEFAULT_SIGNUP_MODE,
  DEFAULT_SIGNUP_THROTTLE,
  normalizeEmail,
  parseSignupMode,
  publicSignup,
  SIGNUP_MODES,
  type SignupMode,
  signup,
  signupAllowed,
} from './signup.ts'
export {
  addressThrottleKey,
  beginAttempt,
  DEFAULT_LOGIN_THROTTLE,
  forgetAttempt,
  type LoginThrottleConfig,
  type ThrottleKey,
  type ThrottleRule,
} from './throttle.ts'
