import { useMutation, useQuery, useQueryClient } from '@tanstack/react-query'
import { DateTime } from 'luxon'
import { type FormEvent, useState } from 'react'
import { ok, type UniqueCode } from '../../api/client.ts'
import { BinIcon, Checks, ErrorNotice, Field, InputField, Notice } from '../../ui/kit.tsx'
import { api } from '../api.ts'

/** The last day an expiry may fall on: six calendar months from today (SPEC §4). */
const maxExpiry = () => DateTime.now().plus({ months: 6 }).minus({ days: 1 }).toISODate()!
/** The end of a picked day on the organization's clock: the server reads it in the locks' zone. */
const endOfDay = (date: string) => `${date}T23:59:59`
/** The day of an expiry as the organization's clock shows it. */
const expiryDay = (code: UniqueCode) => DateTime.fromISO(code.expiresAtLocal, { setZone: true })

export function UniqueCodesPage() {
  const codes = useQuery({ queryKey: ['unique-codes'], queryFn: () => ok(api.GET('/api/v1/unique-codes')) })
  const [creating, setCreating] = useState(false)
  const items = codes.data?.items ?? []
  return (
    <>
      <div className="header-row">
        <h1>Unique Codes</h1>
        <button type="button" onClick={() => setCreating(true)}>
          New Unique Code
        </button>
      </div>
      <ErrorNotice error={codes.error} />
      {creating && <NewUniqueCode onDone={() => setCreating(false)} />}
      <h2>Active Unique Codes</h2>
      <CodeTable label="Active Unique Codes" codes={items.filter((c) => c.status === 'active')} />
      <h2>Expired Unique Codes</h2>
      <CodeTable label="Expired Unique Codes" codes={items.filter((c) => c.status === 'expired')} />
    </>
  )
}

function NewUniqueCode(props: { onDone: () => void }) {
  const client = useQueryClient()
  const [description, setDescription] = useState('')
  const [expiry, setExpiry] = useState(DateTime.now().plus({ days: 7 }).toISODate()!)
  const create = useMutation({
    mutationFn: () =>
      ok(api.POST('/api/v1/unique-codes', { body: { description, expiresAt: endOfDay(expiry) } })),
    onSuccess: () => client.invalidateQueries({ queryKey: ['unique-codes'] }),
  })
  const submit = (event: FormEvent) => {
    event.preventDefault()
    create.mutate()
  }
  return (
    <form className="card" onSubmit={submit} aria-label="New Unique Code">
      <InputField
        label="Description"
        hint="What the code is for, e.g. “Plumber – burst pipe”."
        required
        value={description}
        onValue={setDescription}
      />
      <InputField
        label="Expiry"
        hint="At most six months from today."
        type="date"
        required
        min={DateTime.now().toISODate()!}
        max={maxExpiry()}
        value={expiry}
        onValue={setExpiry}
      />
      <ErrorNotice error={create.error} />
      {create.isSuccess && (
        <Notice tone="ok">
          Created <strong data-testid="new-unique-code">{create.data.code}</strong>: share locks with it, then
          give it to the person.
        </Notice>
      )}
      <div className="row">
        <button type="submit" disabled={create.isPending}>
          Create
        </button>
        <button type="button" className="secondary" onClick={props.onDone}>
          Close
        </button>
      </div>
    </form>
  )
}

function CodeTable(props: { label: string; codes: UniqueCode[] }) {
  if (props.codes.length === 0) return <p className="muted">None.</p>
  return (
    <div className="table-wrap">
      <table aria-label={props.label}>
        <thead>
          <tr>
            <th scope="col">Code</th>
            <th scope="col">Description</th>
            <th scope="col">Expires</th>
            <th scope="col">Device</th>
            <th scope="col">
              <span className="visually-hidden">Actions</span>
            </th>
          </tr>
        </thead>
        <tbody>
          {props.codes.map((code) => (
            <CodeRow key={code.id} code={code} />
          ))}
        </tbody>
      </table>
    </div>
  )
}

function CodeRow(props: { code: UniqueCode }) {
  const client = useQueryClient()
  const { code } = props
  const path = { params: { path: { id: code.id } } }
  const refresh = () => client.invalidateQueries({ queryKey: ['unique-codes'] })
  const remove = useMutation({
    mutationFn: () => ok(api.DELETE('/api/v1/unique-codes/{id}', path)),
    onSuccess: refresh,
  })
  const reset = useMutation({
    mutationFn: () => ok(api.POST('/api/v1/unique-codes/{id}/reset-device', path)),
    onSuccess: refresh,
  })
  const [diagnose, setDiagnose] = useState(false)
  const diagnosis = useQuery({
    queryKey: ['unique-code-diagnosis', code.id],
    enabled: diagnose,
    queryFn: () => ok(api.GET('/api/v1/unique-codes/{id}/diagnosis', path)),
  })
  const [editing, setEditing] = useState(false)
  if (editing) return <EditRow code={code} onDone={() => setEditing(false)} />
  return (
    <tr>
      <td>
        <code>{code.code}</code>
      </td>
      <td>{code.description}</td>
      <td>{expiryDay(code).toFormat('ccc d LLL yyyy')}</td>
      <td>{code.boundDevice ? 'Signed in on a device' : 'Not used yet'}</td>
      <td>
        <div className="row">
          <button
            type="button"
            className="secondary"
            onClick={() => setEditing(true)}
            aria-label={`Edit ${code.description}`}
          >
            Edit
          </button>
          <button
            type="button"
            className="secondary"
            onClick={() => setDiagnose(!diagnose)}
            aria-expanded={diagnose}
            aria-label={`Why doesn't it work? ${code.description}`}
          >
            Why doesn't it work?
          </button>
          {code.boundDevice && (
            <button
              type="button"
              className="secondary"
              onClick={() => reset.mutate()}
              aria-label={`Reset device of ${code.description}`}
            >
              Reset device
            </button>
          )}
          <button
            type="button"
            className="danger"
            aria-label="Delete"
            title={`Delete ${code.code}`}
            onClick={() => remove.mutate()}
          >
            <BinIcon />
          </button>
        </div>
        <ErrorNotice error={remove.error ?? reset.error ?? diagnosis.error} />
        {diagnose && diagnosis.data && (
          <Checks label={`Checks of ${code.description}`} checks={diagnosis.data.checks} />
        )}
      </td>
    </tr>
  )
}

/** Description and expiry of a code, changed in place; the expiry stays within six months of creation. */
function EditRow(props: { code: UniqueCode; onDone: () => void }) {
  const client = useQueryClient()
  const { code } = props
  const [description, setDescription] = useState(code.description)
  const [expiry, setExpiry] = useState(expiryDay(code).toISODate()!)
  const lastDay = DateTime.fromISO(code.createdAt).plus({ months: 6 }).minus({ days: 1 })
  const save = useMutation({
    mutationFn: () =>
      ok(
        api.PATCH('/api/v1/unique-codes/{id}', {
          params: { path: { id: code.id } },
          body: { description, expiresAt: endOfDay(expiry) },
        }),
      ),
    onSuccess: async () => {
      await client.invalidateQueries({ queryKey: ['unique-codes'] })
      props.onDone()
    },
  })
  const submit = (event: FormEvent) => {
    event.preventDefault()
    save.mutate()
  }
  return (
    <tr>
      <td colSpan={5}>
        <form className="card" onSubmit={submit} aria-label={`Edit ${code.code}`}>
          <InputField label="Description" required value={description} onValue={setDescription} />
          <Field
            label="Expiry"
            hint={`At most six months from when the code was made: ${lastDay.toFormat('ccc d LLL yyyy')}.`}
          >
            {(id, hint) => (
              <input
                id={id}
                aria-describedby={hint}
                type="date"
                required
                value={expiry}
                onChange={(e) => setExpiry(e.target.value)}
              />
            )}
          </Field>
          <ErrorNotice error={save.error} />
          <div className="row">
            <button type="submit" disabled={save.isPending}>
              Save
            </button>
            <button type="button" className="secondary" onClick={props.onDone}>
              Cancel
            </button>
          </div>
        </form>
      </td>
    </tr>
  )
}
