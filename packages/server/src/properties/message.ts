/** The message a host sends the guest (SPEC §11): the property's template with the stay's code and local times. */

import { localTime } from '../local-time.ts'
import type { Property, Stay } from '../store/index.ts'

export function renderMessage(template: string, property: Property, stay: Stay, code: string): string {
  const values: Record<string, string> = {
    guestName: stay.guestName,
    code,
    checkIn: localTime(stay.checkInAt.getTime(), property.timezone),
    checkOut: localTime(stay.checkOutAt.getTime(), property.timezone),
    propertyName: property.name,
  }
  return template.replace(/\{\{\s*(\w+)\s*\}\}/g, (whole, name: string) => values[name] ?? whole)
}
