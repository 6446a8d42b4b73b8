export { type DesiredEntry, diffTable, type TableDiff } from './diff.ts'
export { canonicalRule } from './digest.ts'
export { loadLockSync, markDue } from './lock-sync.ts'
export type { ReconcilerOptions } from './options.ts'
export { offlineCouldOpen } from './pass.ts'
export { forecastNoSlots, type PlannedCode, type PlanOptions, planLock } from './plan.ts'
export {
  lookSoonAfterCommit,
  type Reconciler,
  type ReconcilerDeps,
  registerReconcilerLag,
  requestReconcile,
  requestReconcileOrganization,
  startReconciler,
} from './reconciler.ts'
export {
  LOCK_FULL_WHEN_DUE,
  lockFullIssue,
  lockFullWhenDueIssue,
  stillOpensIssue,
  type Unreachable,
  unreachableWords,
  withoutRenewedWarnings,
} from './status.ts'
