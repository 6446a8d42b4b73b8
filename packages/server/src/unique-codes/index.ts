export { createUniqueCode } from './create-unique-code.ts'
export { deleteUniqueCode } from './delete-unique-code.ts'
export { diagnoseUniqueCode, UNIQUE_CODE_DIAGNOSIS_CHECKS } from './diagnosis.ts'
export { resetUniqueCodeDevice } from './reset-device.ts'
export {
  findUniqueCode,
  listUniqueCodes,
  organizationTimezone,
  toUniqueCodeView,
  type UniqueCodeView,
} from './unique-codes.ts'
export { updateUniqueCode } from './update-unique-code.ts'
