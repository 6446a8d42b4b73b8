/** The weekly schedule picker of codes and shares: days and a time of day, on the lock's own clock. */

import { Field } from '../ui/kit.tsx'
import { DAY_NAMES } from '../wall-clock.ts'

type Day = 1 | 2 | 3 | 4 | 5 | 6 | 7

export interface WeeklySlot {
  /** 1 = Monday … 7 = Sunday. */
  days: number[]
  /** "HH:MM" on the lock's clock. */
  start: string
  end: string
}

export const DEFAULT_SLOT: WeeklySlot = { days: [2], start: '09:00', end: '12:00' }

/** The API's `schedule` of one slot. */
export const scheduleOf = (slot: WeeklySlot) => ({
  slots: [{ days: slot.days as Day[], start: slot.start, end: slot.end }],
})

export function WeeklySchedule(props: {
  zone: string
  slot: WeeklySlot
  onChange: (slot: WeeklySlot) => void
}) {
  const { slot, onChange } = props
  const toggle = (day: number) =>
    onChange({
      ...slot,
      days: slot.days.includes(day) ? slot.days.filter((d) => d !== day) : [...slot.days, day].sort(),
    })
  return (
    <fieldset>
      <legend>Weekly schedule ({props.zone})</legend>
      <div className="row">
        {DAY_NAMES.map((day, i) => (
          <label key={day} className="check">
            <input type="checkbox" checked={slot.days.includes(i + 1)} onChange={() => toggle(i + 1)} />
            {day}
          </label>
        ))}
      </div>
      <div className="row">
        <Field label="From">
          {(id) => (
            <input
              id={id}
              type="time"
              value={slot.start}
              onChange={(e) => onChange({ ...slot, start: e.target.value })}
            />
          )}
        </Field>
        <Field label="To">
          {(id) => (
            <input
              id={id}
              type="time"
              value={slot.end}
              onChange={(e) => onChange({ ...slot, end: e.target.value })}
            />
          )}
        </Field>
      </div>
    </fieldset>
  )
}
