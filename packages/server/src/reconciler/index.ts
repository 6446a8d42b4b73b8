export { type DesiredEntry, diffTable, type TableDiff } from './diff.ts'
export type { ReconcilerOptions } from './options.ts'
export {
  type Reconciler,
  type ReconcilerDeps,
  requestReconcile,
  requestReconcileOrganization,
  startReconciler,
} from './reconciler.ts'
