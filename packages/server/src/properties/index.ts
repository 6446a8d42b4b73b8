/** Properties, stays and booking calendars (SPEC §11). */
export { issueBackupCodes } from './backup-code.ts'
export { createCalendar, deleteCalendar, findCalendar, listCalendars } from './calendars.ts'
export { renderMessage } from './message.ts'
export {
  createProperty,
  findProperty,
  listProperties,
  type PropertyInput,
  propertyView,
  updateProperty,
} from './properties.ts'
export {
  checkUnconfirmedStays,
  type PropertyScheduler,
  startPropertyScheduler,
  syncCalendarNow,
} from './scheduler.ts'
export { stayCodesOf } from './stay-codes.ts'
export { stayView } from './stay-view.ts'
export { cancelStaysOf, createStay, deleteStay, findStay, listStays, updateStay } from './stays.ts'
