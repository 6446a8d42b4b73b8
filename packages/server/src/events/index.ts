/** The audit log (SPEC §7): appending events, the events about codes and locks, reading them back. */
export { type CodeEventOptions, type CodeEventType, recordCodeEvent } from './code-events.ts'
export * from './list-events.ts'
export * from './lock-events.ts'
export { appendEvents, appendLockEvents, type RecordEventInput, recordEvent } from './record.ts'
