export { createUniqueCode } from './create-unique-code.ts'
export { deleteUniqueCode } from './delete-unique-code.ts'
export { resetUniqueCodeDevice } from './reset-device.ts'
export { findUniqueCode, listUniqueCodes, type UniqueCodeView } from './unique-codes.ts'
