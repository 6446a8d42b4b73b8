/** The small component kit of the portal and the app: native controls, each with its label. */
import { type InputHTMLAttributes, type ReactNode, useId } from 'react'

export function Field(props: {
  label: string
  hint?: string
  children: (id: string, hintId: string | undefined) => ReactNode
}) {
  const id = useId()
  const hintId = props.hint === undefined ? undefined : `${id}-hint`
  return (
    <div className="field">
      <label htmlFor={id}>{props.label}</label>
      {props.hint !== undefined && (
        <div id={hintId} className="hint">
          {props.hint}
        </div>
      )}
      {props.children(id, hintId)}
    </div>
  )
}

/** A labelled `<input>` holding a string: the field most forms are made of. */
export function InputField(
  props: { label: string; hint?: string; value: string; onValue: (value: string) => void } & Omit<
    InputHTMLAttributes<HTMLInputElement>,
    'id' | 'value' | 'onChange'
  >,
) {
  const { label, hint, value, onValue, ...input } = props
  return (
    <Field label={label} {...(hint === undefined ? {} : { hint })}>
      {(id, hintId) => (
        <input
          id={id}
          aria-describedby={hintId}
          value={value}
          onChange={(e) => onValue(e.target.value)}
          {...input}
        />
      )}
    </Field>
  )
}

/** One choice of a few, as radio buttons under a legend; `row` lays them side by side. */
export function RadioGroup<T extends string>(props: {
  legend: string
  name: string
  value: T
  options: readonly (readonly [T, ReactNode])[]
  onChange: (value: T) => void
  row?: boolean
}) {
  const radios = props.options.map(([value, label]) => (
    <label key={value} className="check">
      <input
        type="radio"
        name={props.name}
        checked={props.value === value}
        onChange={() => props.onChange(value)}
      />
      {label}
    </label>
  ))
  return (
    <fieldset>
      <legend>{props.legend}</legend>
      {props.row ? <div className="row">{radios}</div> : radios}
    </fieldset>
  )
}

export function Notice(props: { tone?: 'ok' | 'warn' | 'bad'; children: ReactNode; live?: boolean }) {
  return (
    <div className={`notice ${props.tone ?? ''}`} role={props.live === false ? undefined : 'status'}>
      {props.children}
    </div>
  )
}

export function ErrorNotice(props: { error: unknown }) {
  if (props.error === null || props.error === undefined) return null
  const message =
    props.error instanceof Error ? props.error.message : 'Something went wrong. Please try again.'
  return (
    <div className="notice bad" role="alert">
      {message}
    </div>
  )
}

export function BinIcon() {
  return (
    <svg aria-hidden="true" width="16" height="16" viewBox="0 0 24 24" fill="currentColor">
      <path d="M9 3h6l1 2h4v2H4V5h4l1-2zm-3 6h12l-1 12H7L6 9zm4 2v8h2v-8h-2zm4 0v8h2v-8h-2z" />
    </svg>
  )
}

export interface Check {
  check: string
  result: 'pass' | 'warn' | 'fail'
  message: string
}

/** A diagnosis, check by check: each sentence with its mark (✓ pass, ! warn, ✗ fail). */
export function Checks(props: { label: string; checks: Check[] }) {
  return (
    <ul aria-label={props.label}>
      {props.checks.map((check) => (
        <li
          key={check.check}
          className={check.result === 'pass' ? 'ok' : check.result === 'warn' ? 'warn' : 'bad'}
        >
          {check.result === 'pass' ? '✓' : check.result === 'warn' ? '!' : '✗'} {check.message}
        </li>
      ))}
    </ul>
  )
}
