/**
 * Properties (SPEC §11, §14): each with its locks, its stays by date with their code per lock (added by
 * hand or from its booking calendars; cancelled or deleted here), and its booking calendars.
 */
import { useMutation, useQuery, useQueryClient } from '@tanstack/react-query'
import { type FormEvent, useState } from 'react'
import { type Calendar, ok, type Property, type Stay, sentence } from '../../api/client.ts'
import { BinIcon, ErrorNotice, Field, InputField } from '../../ui/kit.tsx'
import { formatLocal } from '../../wall-clock.ts'
import { STATUS_WORDS } from '../../words.ts'
import { api } from '../api.ts'
import { Link, navigate } from '../router.tsx'
import { useLocks } from './LocksPage.tsx'

const useProperties = () =>
  useQuery({ queryKey: ['properties'], queryFn: () => ok(api.GET('/api/v1/properties')) })

const STAY_WORDS: Record<Stay['status'], string> = {
  upcoming: 'Upcoming',
  active: 'Staying',
  ended: 'Ended',
  cancelled: 'Cancelled',
}

export function PropertiesPage(props: { propertyId?: string }) {
  if (props.propertyId !== undefined) return <PropertyPage propertyId={props.propertyId} />
  return <PropertyList />
}

function PropertyList() {
  const properties = useProperties()
  const locks = useLocks()
  const [creating, setCreating] = useState(false)
  const lockName = (id: string) => locks.data?.items.find((l) => l.id === id)?.name ?? 'A removed lock'
  const items = properties.data?.items ?? []
  return (
    <>
      <div className="header-row">
        <h1>Properties</h1>
        <button type="button" onClick={() => setCreating(true)}>
          New property
        </button>
      </div>
      <ErrorNotice error={properties.error} />
      {creating && <NewProperty onDone={() => setCreating(false)} />}
      {properties.isSuccess && items.length === 0 && <p className="muted">No properties yet.</p>}
      {items.length > 0 && (
        <div className="table-wrap">
          <table aria-label="Properties">
            <thead>
              <tr>
                <th scope="col">Property</th>
                <th scope="col">Locks</th>
                <th scope="col">Check-in / out</th>
              </tr>
            </thead>
            <tbody>
              {items.map((p) => (
                <tr key={p.id}>
                  <td>
                    <Link to={`/properties/${p.id}`}>{p.name}</Link>
                    <div className="muted">{p.timezone}</div>
                  </td>
                  <td>{p.lockIds.map(lockName).join(', ')}</td>
                  <td>
                    {p.checkInTime} / {p.checkOutTime}
                  </td>
                </tr>
              ))}
            </tbody>
          </table>
        </div>
      )}
    </>
  )
}

function NewProperty(props: { onDone: () => void }) {
  const client = useQueryClient()
  const locks = useLocks()
  const [name, setName] = useState('')
  const [lockIds, setLockIds] = useState<string[]>([])
  const all = locks.data?.items ?? []
  const create = useMutation({
    mutationFn: () => {
      const timezone = all.find((l) => l.id === lockIds[0])?.timezone ?? 'UTC'
      return ok(api.POST('/api/v1/properties', { body: { name, lockIds, timezone } }))
    },
    onSuccess: async () => {
      await client.invalidateQueries({ queryKey: ['properties'] })
      props.onDone()
    },
  })
  const submit = (event: FormEvent) => {
    event.preventDefault()
    create.mutate()
  }
  return (
    <form className="card" onSubmit={submit} aria-label="New property">
      <InputField label="Name" hint="E.g. “Beach house”." required value={name} onValue={setName} />
      <fieldset>
        <legend>
          Locks (each stay’s code goes on all of them; the first one’s time zone is the property’s)
        </legend>
        {all.map((l) => (
          <label key={l.id} className="check">
            <input
              type="checkbox"
              checked={lockIds.includes(l.id)}
              onChange={(e) =>
                setLockIds(e.target.checked ? [...lockIds, l.id] : lockIds.filter((id) => id !== l.id))
              }
            />{' '}
            {l.name}
          </label>
        ))}
      </fieldset>
      <ErrorNotice error={create.error} />
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

function PropertyPage(props: { propertyId: string }) {
  const property = useQuery({
    queryKey: ['properties', props.propertyId],
    queryFn: () => ok(api.GET('/api/v1/properties/{id}', { params: { path: { id: props.propertyId } } })),
  })
  if (property.error) return <ErrorNotice error={property.error} />
  if (!property.data) return <p className="muted">Loading…</p>
  return (
    <>
      <p>
        <Link to="/properties">All properties</Link>
      </p>
      <div className="header-row">
        <h1>{property.data.name}</h1>
        <DeleteProperty property={property.data} />
      </div>
      <p className="muted">
        Time zone {property.data.timezone} · Check-in {property.data.checkInTime} · Check-out{' '}
        {property.data.checkOutTime}
      </p>
      <PropertySettings property={property.data} />
      <Stays property={property.data} />
      <NewStay property={property.data} />
      <Calendars property={property.data} />
    </>
  )
}

function Stays(props: { property: Property }) {
  const locks = useLocks()
  const stays = useQuery({
    queryKey: ['stays', props.property.id],
    queryFn: () => ok(api.GET('/api/v1/stays', { params: { query: { propertyId: props.property.id } } })),
  })
  const lockName = (id: string) => locks.data?.items.find((l) => l.id === id)?.name ?? 'A removed lock'
  const items = [...(stays.data?.items ?? [])].sort((a, b) => a.checkInAt.localeCompare(b.checkInAt))
  return (
    <section aria-labelledby="stays-heading">
      <h2 id="stays-heading">Stays</h2>
      <ErrorNotice error={stays.error} />
      {stays.isSuccess && items.length === 0 && <p className="muted">No stays yet.</p>}
      {items.length > 0 && (
        <div className="table-wrap">
          <table aria-label="Stays">
            <thead>
              <tr>
                <th scope="col">Guest</th>
                <th scope="col">Check-in</th>
                <th scope="col">Check-out</th>
                <th scope="col">Status</th>
                <th scope="col">Code</th>
                <th scope="col">Code on each lock</th>
                <th scope="col">Actions</th>
              </tr>
            </thead>
            <tbody>
              {items.map((s) => (
                <tr key={s.id}>
                  <td>
                    {s.guestName}
                    <div className="muted">
                      {s.source === 'calendar' ? 'From a calendar' : 'Added by hand'}
                    </div>
                  </td>
                  <td>{formatLocal(s.checkInAtLocal)}</td>
                  <td>{formatLocal(s.checkOutAtLocal)}</td>
                  <td>{STAY_WORDS[s.status]}</td>
                  <td>{s.code === null ? '—' : <code>{s.code}</code>}</td>
                  <td>
                    <ul className="plain">
                      {s.locks.map((l) => (
                        <li key={l.lockId}>
                          {lockName(l.lockId)}: {STATUS_WORDS[l.status] ?? l.status}
                          {[...l.errors, ...l.warnings].map((w) => (
                            <div key={w.code} className="muted">
                              {sentence(w.message)}
                            </div>
                          ))}
                        </li>
                      ))}
                    </ul>
                    {s.backupCodes.length > 0 && (
                      <ul className="plain" aria-label={`Backup codes of ${s.guestName}`}>
                        {s.backupCodes.map((b) => (
                          <li key={b.accessCodeId}>
                            Backup for {lockName(b.lockId)}: <code>{b.code ?? 'hidden'}</code>
                            {b.warnings.map((w) => (
                              <div key={w.code} className="muted">
                                {sentence(w.message)}
                              </div>
                            ))}
                          </li>
                        ))}
                      </ul>
                    )}
                    {s.warnings.map((w) => (
                      <div key={w.code} className="notice warn">
                        {sentence(w.message)}
                      </div>
                    ))}
                  </td>
                  <td>
                    <StayActions stay={s} zone={props.property.timezone} />
                  </td>
                </tr>
              ))}
            </tbody>
          </table>
        </div>
      )}
    </section>
  )
}

function Calendars(props: { property: Property }) {
  const client = useQueryClient()
  const key = ['calendars', props.property.id]
  const calendars = useQuery({
    queryKey: key,
    queryFn: () =>
      ok(api.GET('/api/v1/properties/{id}/calendars', { params: { path: { id: props.property.id } } })),
  })
  const [url, setUrl] = useState('')
  const [name, setName] = useState('')
  const add = useMutation({
    mutationFn: () =>
      ok(
        api.POST('/api/v1/properties/{id}/calendars', {
          params: { path: { id: props.property.id } },
          body: { url, ...(name === '' ? {} : { name }) },
        }),
      ),
    onSuccess: async () => {
      setUrl('')
      setName('')
      await client.invalidateQueries({ queryKey: key })
    },
  })
  const submit = (event: FormEvent) => {
    event.preventDefault()
    add.mutate()
  }
  return (
    <section aria-labelledby="calendars-heading">
      <h2 id="calendars-heading">Booking calendars</h2>
      <ErrorNotice error={calendars.error} />
      {(calendars.data?.items ?? []).map((c) => (
        <CalendarCard key={c.id} calendar={c} propertyId={props.property.id} />
      ))}
      {calendars.isSuccess && calendars.data.items.length === 0 && <p className="muted">No calendars yet.</p>}
      <form className="card" onSubmit={submit} aria-label="Add a calendar">
        <InputField
          label="Calendar address"
          hint="The iCal export link of the booking site."
          type="url"
          required
          value={url}
          onValue={setUrl}
        />
        <InputField label="Calendar name" hint="Optional, e.g. “Airbnb”." value={name} onValue={setName} />
        <ErrorNotice error={add.error} />
        <button type="submit" disabled={add.isPending}>
          Add calendar
        </button>
      </form>
    </section>
  )
}

function CalendarCard(props: { calendar: Calendar; propertyId: string }) {
  const client = useQueryClient()
  const c = props.calendar
  const zone = Intl.DateTimeFormat().resolvedOptions().timeZone
  const sync = useMutation({
    mutationFn: () => ok(api.POST('/api/v1/calendars/{id}/sync', { params: { path: { id: c.id } } })),
    onSettled: () =>
      Promise.all([
        client.invalidateQueries({ queryKey: ['calendars', props.propertyId] }),
        client.invalidateQueries({ queryKey: ['stays', props.propertyId] }),
      ]),
  })
  const remove = useMutation({
    mutationFn: () => ok(api.DELETE('/api/v1/calendars/{id}', { params: { path: { id: c.id } } })),
    onSuccess: () => client.invalidateQueries({ queryKey: ['calendars', props.propertyId] }),
  })
  const when = (iso: string | null) =>
    iso === null
      ? 'never'
      : new Intl.DateTimeFormat('en-GB', {
          timeZone: zone,
          weekday: 'short',
          day: 'numeric',
          month: 'short',
          hour: '2-digit',
          minute: '2-digit',
        }).format(new Date(iso))
  return (
    <section className="card" aria-label={`Calendar ${c.name}`}>
      <strong>{c.name}</strong> <span className="muted">{c.url}</span>
      <p>
        Last synced: <span data-testid="last-synced">{when(c.lastSyncedAt)}</span>
        {c.lastError !== null && (
          <span className="bad">
            {' '}
            · Last try failed: <span data-testid="last-error">{c.lastError}</span>
          </span>
        )}
      </p>
      <ErrorNotice error={sync.error ?? remove.error} />
      <div className="row">
        <button
          type="button"
          onClick={() => sync.mutate()}
          disabled={sync.isPending}
          aria-label={`Sync ${c.name}`}
        >
          Sync
        </button>
        <button
          type="button"
          className="secondary"
          onClick={() => remove.mutate()}
          disabled={remove.isPending}
          aria-label={`Remove calendar ${c.name}`}
          title="Its stays stay as they are"
        >
          Remove calendar
        </button>
      </div>
    </section>
  )
}

/** A stay made by hand: check-in and check-out on the property's clock, its zone in the labels. */
function NewStay(props: { property: Property }) {
  const client = useQueryClient()
  const zone = props.property.timezone
  const [guestName, setGuestName] = useState('')
  const [checkIn, setCheckIn] = useState('')
  const [checkOut, setCheckOut] = useState('')
  const [phone, setPhone] = useState('')
  const add = useMutation({
    // the picked times leave as typed: the server reads them in the property's zone
    mutationFn: () =>
      ok(
        api.POST('/api/v1/stays', {
          body: {
            propertyId: props.property.id,
            guestName,
            checkIn,
            checkOut,
            ...(phone.trim() === '' ? {} : { phone: phone.trim() }),
          },
        }),
      ),
    onSuccess: async () => {
      setGuestName('')
      setCheckIn('')
      setCheckOut('')
      setPhone('')
      await client.invalidateQueries({ queryKey: ['stays', props.property.id] })
    },
  })
  const submit = (event: FormEvent) => {
    event.preventDefault()
    add.mutate()
  }
  return (
    <form className="card" onSubmit={submit} aria-label="Add a stay">
      <h3>Add a stay</h3>
      <InputField label="Guest" required value={guestName} onValue={setGuestName} />
      <div className="row">
        <InputField
          label={`Check-in (${zone})`}
          hint={`Usually ${props.property.checkInTime}.`}
          type="datetime-local"
          required
          value={checkIn}
          onValue={setCheckIn}
        />
        <InputField
          label={`Check-out (${zone})`}
          hint={`Usually ${props.property.checkOutTime}.`}
          type="datetime-local"
          required
          value={checkOut}
          onValue={setCheckOut}
        />
      </div>
      <InputField label="Phone" hint="Optional." type="tel" value={phone} onValue={setPhone} />
      <ErrorNotice error={add.error} />
      <button type="submit" disabled={add.isPending}>
        Add stay
      </button>
    </form>
  )
}

function StayActions(props: { stay: Stay; zone: string }) {
  const client = useQueryClient()
  const s = props.stay
  const refresh = () => client.invalidateQueries({ queryKey: ['stays', s.propertyId] })
  const cancel = useMutation({
    mutationFn: () =>
      ok(api.PATCH('/api/v1/stays/{id}', { params: { path: { id: s.id } }, body: { status: 'cancelled' } })),
    onSettled: refresh,
  })
  const remove = useMutation({
    mutationFn: () => ok(api.DELETE('/api/v1/stays/{id}', { params: { path: { id: s.id } } })),
    onSettled: refresh,
  })
  const backup = useMutation({
    mutationFn: () => ok(api.POST('/api/v1/stays/{id}/backup-code', { params: { path: { id: s.id } } })),
    onSettled: refresh,
  })
  const [showMessage, setShowMessage] = useState(false)
  const message = useQuery({
    queryKey: ['stay-message', s.id, s.updatedAt],
    enabled: showMessage,
    queryFn: () => ok(api.GET('/api/v1/stays/{id}/message', { params: { path: { id: s.id } } })),
  })
  // new dates move the code on every lock (the PIN stays); the fields hold the property's wall clock
  const [changing, setChanging] = useState(false)
  const [checkIn, setCheckIn] = useState(s.checkInAtLocal.slice(0, 16))
  const [checkOut, setCheckOut] = useState(s.checkOutAtLocal.slice(0, 16))
  const move = useMutation({
    mutationFn: () =>
      ok(api.PATCH('/api/v1/stays/{id}', { params: { path: { id: s.id } }, body: { checkIn, checkOut } })),
    onSuccess: () => setChanging(false),
    onSettled: refresh,
  })
  const submitMove = (event: FormEvent) => {
    event.preventDefault()
    move.mutate()
  }
  const open = s.status === 'upcoming' || s.status === 'active'
  return (
    <>
      <div className="row">
        {open && (
          <button
            type="button"
            className="secondary"
            aria-label={`Change dates of ${s.guestName}`}
            aria-expanded={changing}
            onClick={() => setChanging(!changing)}
          >
            Change dates
          </button>
        )}
        {open && (
          <button
            type="button"
            className="secondary"
            aria-label={`Message for ${s.guestName}`}
            aria-expanded={showMessage}
            onClick={() => setShowMessage(!showMessage)}
          >
            Message
          </button>
        )}
        {open && s.backupCodes.length === 0 && (
          <button
            type="button"
            className="secondary"
            aria-label={`Backup code for ${s.guestName}`}
            title="An offline code on each lock for the same window: it opens even with no gateway"
            disabled={backup.isPending}
            onClick={() => backup.mutate()}
          >
            Backup code
          </button>
        )}
        {open && (
          <button
            type="button"
            className="secondary"
            aria-label={`Cancel stay of ${s.guestName}`}
            disabled={cancel.isPending}
            onClick={() => cancel.mutate()}
          >
            Cancel stay
          </button>
        )}
        <button
          type="button"
          className="danger"
          aria-label={`Delete the stay of ${s.guestName}`}
          title={`Delete the stay of ${s.guestName}`}
          disabled={remove.isPending}
          onClick={() => remove.mutate()}
        >
          <BinIcon />
        </button>
      </div>
      {changing && (
        <form className="card" onSubmit={submitMove} aria-label={`New dates of ${s.guestName}`}>
          <InputField
            label={`Check-in (${props.zone})`}
            type="datetime-local"
            required
            value={checkIn}
            onValue={setCheckIn}
          />
          <InputField
            label={`Check-out (${props.zone})`}
            type="datetime-local"
            required
            value={checkOut}
            onValue={setCheckOut}
          />
          <button type="submit" disabled={move.isPending}>
            Save
          </button>
        </form>
      )}
      <ErrorNotice error={cancel.error ?? remove.error ?? backup.error ?? message.error ?? move.error} />
      {showMessage && message.data && (
        <p className="card" data-testid="stay-message">
          {message.data.text}
        </p>
      )}
    </>
  )
}

/** A property's defaults for its stays: check-in and check-out times, buffers, the PIN, the message. */
function PropertySettings(props: { property: Property }) {
  const client = useQueryClient()
  const p = props.property
  const [open, setOpen] = useState(false)
  const [checkInTime, setCheckInTime] = useState(p.checkInTime)
  const [checkOutTime, setCheckOutTime] = useState(p.checkOutTime)
  const [bufferBefore, setBufferBefore] = useState(String(p.bufferBeforeMinutes))
  const [bufferAfter, setBufferAfter] = useState(String(p.bufferAfterMinutes))
  const [codeLength, setCodeLength] = useState(String(p.codeLength))
  const [codeStrategy, setCodeStrategy] = useState(p.codeStrategy)
  const [messageTemplate, setMessageTemplate] = useState(p.messageTemplate)
  const save = useMutation({
    mutationFn: () =>
      ok(
        api.PATCH('/api/v1/properties/{id}', {
          params: { path: { id: p.id } },
          body: {
            checkInTime,
            checkOutTime,
            bufferBeforeMinutes: Number(bufferBefore),
            bufferAfterMinutes: Number(bufferAfter),
            codeLength: Number(codeLength),
            codeStrategy,
            messageTemplate,
          },
        }),
      ),
    onSuccess: async () => {
      setOpen(false)
      await Promise.all([
        client.invalidateQueries({ queryKey: ['properties'] }),
        client.invalidateQueries({ queryKey: ['stays', p.id] }),
      ])
    },
  })
  const submit = (event: FormEvent) => {
    event.preventDefault()
    save.mutate()
  }
  if (!open)
    return (
      <button type="button" className="secondary" onClick={() => setOpen(true)}>
        Edit property
      </button>
    )
  const zone = p.timezone
  return (
    <form className="card" onSubmit={submit} aria-label="Property settings">
      <div className="row">
        <InputField
          label={`Check-in time (${zone})`}
          type="time"
          required
          value={checkInTime}
          onValue={setCheckInTime}
        />
        <InputField
          label={`Check-out time (${zone})`}
          type="time"
          required
          value={checkOutTime}
          onValue={setCheckOutTime}
        />
      </div>
      <div className="row">
        <InputField
          label="Code works from (minutes before check-in)"
          type="number"
          min={0}
          max={1440}
          required
          value={bufferBefore}
          onValue={setBufferBefore}
        />
        <InputField
          label="Code works until (minutes after check-out)"
          type="number"
          min={0}
          max={1440}
          required
          value={bufferAfter}
          onValue={setBufferAfter}
        />
      </div>
      <div className="row">
        <InputField
          label="Digits of a code"
          type="number"
          min={4}
          max={10}
          required
          value={codeLength}
          onValue={setCodeLength}
        />
        <Field label="Code">
          {(id) => (
            <select
              id={id}
              value={codeStrategy}
              onChange={(e) => setCodeStrategy(e.target.value as typeof codeStrategy)}
            >
              <option value="random">Random</option>
              <option value="phone_last4">The last 4 digits of the guest’s phone, when free</option>
            </select>
          )}
        </Field>
      </div>
      <Field
        label="Message to the guest"
        hint="{{guestName}}, {{code}}, {{checkIn}}, {{checkOut}} and {{propertyName}} are filled in."
      >
        {(id, hint) => (
          <textarea
            id={id}
            aria-describedby={hint}
            rows={4}
            value={messageTemplate}
            onChange={(e) => setMessageTemplate(e.target.value)}
          />
        )}
      </Field>
      <ErrorNotice error={save.error} />
      <div className="row">
        <button type="submit" disabled={save.isPending}>
          Save Changes
        </button>
        <button type="button" className="secondary" onClick={() => setOpen(false)}>
          Close
        </button>
      </div>
    </form>
  )
}

/** Deleting a property cancels its stays: their codes come off every lock. */
function DeleteProperty(props: { property: Property }) {
  const client = useQueryClient()
  const remove = useMutation({
    mutationFn: () =>
      ok(api.DELETE('/api/v1/properties/{id}', { params: { path: { id: props.property.id } } })),
    onSuccess: async () => {
      await client.invalidateQueries({ queryKey: ['properties'] })
      navigate('/properties')
    },
  })
  return (
    <>
      <button
        type="button"
        className="danger"
        title="Its stays are cancelled: their codes come off every lock"
        disabled={remove.isPending}
        onClick={() => remove.mutate()}
      >
        Delete property
      </button>
      <ErrorNotice error={remove.error} />
    </>
  )
}
