export { createPermissions } from './create-permissions.ts'
export {
  accessEndsAt,
  listPermissions,
  type PermissionView,
  permissionStatus,
  shareRuleOf,
} from './permissions.ts'
export { endShares, revokePermission } from './revoke-permissions.ts'
