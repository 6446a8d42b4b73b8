import { useMutation, useQuery, useQueryClient } from '@tanstack/react-query'
import { type FormEvent, useState } from 'react'
import { type AccessCode, type Lock, ok } from '../../api/client.ts'
import { pickedLocal } from '../../time.ts'
import { Checks, ErrorNotice, Field, InputField, Notice, RadioGroup } from '../../ui/kit.tsx'
import { formatLocalWindow, formatSchedule } from '../../wall-clock.ts'
import { clockWords, denialWords, KIND_WORDS, reachWords, STATUS_WORDS } from '../../words.ts'
import { api } from '../api.ts'
import { simPost, useDemo } from '../demo.ts'
import { DEFAULT_SLOT, scheduleOf, WeeklySchedule, type WeeklySlot } from '../weekly-schedule.tsx'
import { useGateways } from './LocksPage.tsx'

export function LockPage(props: { lockId: string }) {
  const lock = useQuery({
    queryKey: ['lock', props.lockId],
    queryFn: () => ok(api.GET('/api/v1/locks/{id}', { params: { path: { id: props.lockId } } })),
  })
  const gateways = useGateways()
  const demo = useDemo()
  if (lock.error) return <ErrorNotice error={lock.error} />
  if (lock.data === undefined) return <p className="muted">Loading…</p>
  const l = lock.data
  const gatewayOnline = (id: string) => gateways.data?.items.find((g) => g.id === id)?.online
  return (
    <>
      <div className="header-row">
        <h1>{l.name}</h1>
        <LockActions lock={l} />
      </div>
      <p>
        <span className={l.online ? 'ok' : 'bad'}>{reachWords(l, gatewayOnline)}</span> · Time zone{' '}
        {l.timezone} · Battery {l.battery === null ? 'unknown' : `${l.battery}%`} · {clockWords(l)} ·{' '}
        {l.capacity.used} of {l.capacity.total} codes used
      </p>
      {demo.data && <DemoPanel lock={l} />}
      <Passcodes lock={l} />
    </>
  )
}

function LockActions(props: { lock: Lock }) {
  const path = { params: { path: { id: props.lock.id } } }
  const unlock = useMutation({ mutationFn: () => ok(api.POST('/api/v1/locks/{id}/unlock', path)) })
  const sync = useMutation({ mutationFn: () => ok(api.POST('/api/v1/locks/{id}/sync-time', path)) })
  const [diagnose, setDiagnose] = useState(false)
  const diagnosis = useQuery({
    queryKey: ['lock-diagnosis', props.lock.id],
    enabled: diagnose,
    queryFn: () => ok(api.GET('/api/v1/locks/{id}/diagnosis', path)),
  })
  const result = (data: { status: string; error?: { message: string } } | undefined, done: string) =>
    data === undefined
      ? null
      : data.status === 'done'
        ? done
        : data.status === 'pending'
          ? 'Sent; the lock has not answered yet.'
          : (data.error?.message ?? 'The lock refused.')
  return (
    <div>
      <div className="row">
        <button type="button" onClick={() => unlock.mutate()} disabled={unlock.isPending}>
          Unlock now
        </button>
        {/* a time sync is the latchkey driver's: a Matter lock keeps its own time */}
        {props.lock.driver === 'latchkey' && (
          <button type="button" className="secondary" onClick={() => sync.mutate()} disabled={sync.isPending}>
            Sync time
          </button>
        )}
        <button
          type="button"
          className="secondary"
          onClick={() => setDiagnose(!diagnose)}
          aria-expanded={diagnose}
        >
          Check this lock
        </button>
      </div>
      <div aria-live="polite">
        {result(unlock.data, 'Unlocked.')}
        {result(sync.data, 'Clock synced.')}
      </div>
      <ErrorNotice error={unlock.error ?? sync.error ?? diagnosis.error} />
      {diagnose && diagnosis.data && (
        <Checks label={`Checks of ${props.lock.name}`} checks={diagnosis.data.checks} />
      )}
    </div>
  )
}

function DemoPanel(props: { lock: Lock }) {
  const client = useQueryClient()
  const [digits, setDigits] = useState('')
  const demo = useDemo()
  const press = useMutation({
    mutationFn: (typed: string) =>
      simPost<{ result: 'unlocked' | 'denied'; reason?: string }>(`/sim/locks/${props.lock.id}/keypad`, {
        digits: typed,
      }),
    onSettled: () => setDigits(''),
  })
  const advance = useMutation({
    mutationFn: (advanceMs: number) => simPost('/sim/clock', { advanceMs }),
    onSuccess: () => client.invalidateQueries(),
  })
  const now = demo.data
    ? new Intl.DateTimeFormat('en-GB', {
        timeZone: props.lock.timezone,
        weekday: 'short',
        day: 'numeric',
        month: 'short',
        hour: '2-digit',
        minute: '2-digit',
      }).format(demo.data.nowMs)
    : ''
  // A new PIN being typed: the last answer goes, so what shows is always this PIN's.
  const type = (next: string) => {
    setDigits(next)
    if (press.data !== undefined || press.error !== null) press.reset()
  }
  const submit = (event: FormEvent) => {
    event.preventDefault()
    press.mutate(digits)
  }
  return (
    <section className="card" aria-labelledby="demo-title">
      <h2 id="demo-title">
        Demo: try it on the {props.lock.driver === 'matter' ? 'virtual Matter lock' : 'simulated lock'}
      </h2>
      <div className="row" style={{ alignItems: 'flex-start', gap: '2rem' }}>
        <form onSubmit={submit} aria-label="Virtual keypad">
          <Field label="Keypad">
            {(id) => (
              <input
                id={id}
                inputMode="numeric"
                value={digits}
                onChange={(e) => type(e.target.value.replace(/\D/g, ''))}
              />
            )}
          </Field>
          <div className="keypad">
            {['1', '2', '3', '4', '5', '6', '7', '8', '9'].map((d) => (
              <button key={d} type="button" className="secondary" onClick={() => type(digits + d)}>
                {d}
              </button>
            ))}
            <button type="button" className="secondary" aria-label="Clear" onClick={() => type('')}>
              C
            </button>
            <button type="button" className="secondary" onClick={() => type(`${digits}0`)}>
              0
            </button>
            <button type="submit" aria-label="Enter">
              ↵
            </button>
          </div>
          <div aria-live="polite" data-testid="keypad-result">
            {press.isPending && <Notice>Waiting for the lock…</Notice>}
            {press.data?.result === 'unlocked' && <Notice tone="ok">Unlocked</Notice>}
            {press.data?.result === 'denied' && (
              <Notice tone="bad">Refused: {denialWords(press.data.reason)}</Notice>
            )}
          </div>
          <ErrorNotice error={press.error} />
        </form>
        <div>
          <p>
            Time at the lock: <strong data-testid="sim-time">{now}</strong> ({props.lock.timezone})
          </p>
          <div className="row">
            <button type="button" className="secondary" onClick={() => advance.mutate(3_600_000)}>
              Forward 1 hour
            </button>
            <button type="button" className="secondary" onClick={() => advance.mutate(86_400_000)}>
              Forward 1 day
            </button>
          </div>
        </div>
      </div>
    </section>
  )
}

function Passcodes(props: { lock: Lock }) {
  const codes = useQuery({
    queryKey: ['codes', props.lock.id],
    queryFn: () =>
      ok(api.GET('/api/v1/locks/{lockId}/access-codes', { params: { path: { lockId: props.lock.id } } })),
  })
  const [created, setCreated] = useState<AccessCode | null>(null)
  const items = (codes.data?.items ?? []).filter((c) => c.deletedAt === null)
  return (
    <section aria-labelledby="passcodes-title">
      <h2 id="passcodes-title">Passcodes</h2>
      <GenerateForm lock={props.lock} onCreated={setCreated} />
      {created && <CreatedCode code={created} lock={props.lock} onClose={() => setCreated(null)} />}
      <ErrorNotice error={codes.error} />
      <div className="table-wrap">
        <table aria-label="Passcodes">
          <thead>
            <tr>
              <th scope="col">Name</th>
              <th scope="col">Kind</th>
              <th scope="col">Valid</th>
              <th scope="col">Status</th>
              <th scope="col">Actions</th>
            </tr>
          </thead>
          <tbody>
            {items.map((code) => (
              <CodeRow key={code.id} code={code} lock={props.lock} />
            ))}
          </tbody>
        </table>
      </div>
      {codes.isSuccess && items.length === 0 && <p className="muted">No codes on this lock.</p>}
    </section>
  )
}

function validWords(code: AccessCode): string {
  const parts: string[] = []
  const window = formatLocalWindow(code.startsAtLocal, code.endsAtLocal)
  if (window) parts.push(window)
  if (code.schedule) parts.push(formatSchedule(code.schedule))
  if (code.kind === 'one_time') parts.push('once')
  if (code.maxUses !== null) parts.push(`${code.uses} of ${code.maxUses} uses`)
  if (code.kind === 'permanent' && parts.length === 0) parts.push('always')
  return parts.join(', ')
}

export function shareText(code: AccessCode, lock: Lock): string {
  const valid = validWords(code)
  return `Your code for ${lock.name}: ${code.code ?? ''}${valid ? `, valid ${valid}` : ''}`
}

function CodeRow(props: { code: AccessCode; lock: Lock }) {
  const client = useQueryClient()
  const { code } = props
  const [diagnose, setDiagnose] = useState(false)
  const remove = useMutation({
    mutationFn: () => ok(api.DELETE('/api/v1/access-codes/{id}', { params: { path: { id: code.id } } })),
    onSuccess: () => client.invalidateQueries({ queryKey: ['codes', props.lock.id] }),
  })
  const diagnosis = useQuery({
    queryKey: ['diagnosis', code.id],
    enabled: diagnose,
    queryFn: () => ok(api.GET('/api/v1/access-codes/{id}/diagnosis', { params: { path: { id: code.id } } })),
  })
  return (
    <tr>
      <td>
        <strong>{code.name}</strong>
        <div className="muted">PIN {code.code ?? 'hidden'}</div>
      </td>
      <td>{KIND_WORDS[code.kind]}</td>
      <td>{validWords(code)}</td>
      <td>
        <span
          data-testid="code-status"
          className={code.status === 'failed' ? 'bad' : code.status === 'set' ? 'ok' : ''}
        >
          {code.expiredAt !== null && code.status === 'removed'
            ? 'Expired (removed from the lock)'
            : (STATUS_WORDS[code.status] ?? code.status)}
        </span>
        {code.errors.map((e) => (
          <div key={e.code} className="bad">
            {e.message}
          </div>
        ))}
        {code.warnings.map((w) => (
          <div key={w.code} className="warn">
            {w.message}
          </div>
        ))}
      </td>
      <td>
        <div className="row">
          <button
            type="button"
            className="secondary"
            onClick={() => setDiagnose(!diagnose)}
            aria-expanded={diagnose}
            aria-label={`Why doesn't this code work? ${code.name}`}
          >
            Why doesn't this code work?
          </button>
          <button
            type="button"
            className="danger"
            aria-label={`Delete ${code.name}`}
            disabled={remove.isPending}
            onClick={() => remove.mutate()}
          >
            Delete
          </button>
        </div>
        <ErrorNotice error={remove.error ?? diagnosis.error} />
        {diagnose && diagnosis.data && (
          <Checks label={`Checks of ${code.name}`} checks={diagnosis.data.checks} />
        )}
      </td>
    </tr>
  )
}

function CreatedCode(props: { code: AccessCode; lock: Lock; onClose: () => void }) {
  const text = shareText(props.code, props.lock)
  const [copied, setCopied] = useState(false)
  return (
    <section className="card" aria-labelledby="new-code-title">
      <h3 id="new-code-title">New code “{props.code.name}”</h3>
      <p className="muted">Shown once here: copy it now.</p>
      <div className="big-code" data-testid="new-code">
        {props.code.code}
      </div>
      <p data-testid="share-text">{text}</p>
      {props.code.warnings.map((w) => (
        <Notice key={w.code} tone="warn" live={false}>
          {w.message}
        </Notice>
      ))}
      <div className="row">
        <button
          type="button"
          onClick={() => {
            void navigator.clipboard?.writeText(props.code.code ?? '').then(() => setCopied(true))
          }}
        >
          Copy
        </button>
        <button
          type="button"
          className="secondary"
          onClick={() => {
            void navigator.clipboard?.writeText(text).then(() => setCopied(true))
          }}
        >
          Copy share text
        </button>
        <button type="button" className="secondary" onClick={props.onClose}>
          Done
        </button>
        <span aria-live="polite">{copied ? 'Copied.' : ''}</span>
      </div>
    </section>
  )
}

type Kind = AccessCode['kind']

function GenerateForm(props: { lock: Lock; onCreated: (code: AccessCode) => void }) {
  const client = useQueryClient()
  const zone = props.lock.timezone
  const [name, setName] = useState('')
  const [kind, setKind] = useState<Kind>('one_time')
  const [startsAt, setStartsAt] = useState('')
  const [endsAt, setEndsAt] = useState('')
  const [slot, setSlot] = useState<WeeklySlot>(DEFAULT_SLOT)
  const [maxUses, setMaxUses] = useState('')
  const [delivery, setDelivery] = useState<'auto' | 'synced' | 'offline'>('auto')
  const [pin, setPin] = useState('')
  const [localError, setLocalError] = useState<string | null>(null)
  const create = useMutation({
    mutationFn: () => {
      const start = pickedLocal(startsAt)
      const end = pickedLocal(endsAt)
      return ok(
        api.POST('/api/v1/locks/{lockId}/access-codes', {
          params: { path: { lockId: props.lock.id } },
          body: {
            name,
            kind,
            delivery,
            ...(pin === '' ? {} : { code: pin }),
            ...(start !== null && (kind === 'timed' || kind === 'one_time') ? { startsAt: start } : {}),
            ...(end !== null && (kind === 'timed' || kind === 'one_time') ? { endsAt: end } : {}),
            ...(kind === 'recurring' ? { schedule: scheduleOf(slot) } : {}),
            ...(maxUses === '' ? {} : { maxUses: Number(maxUses) }),
          },
        }),
      )
    },
    onSuccess: (code) => {
      props.onCreated(code)
      setName('')
      setPin('')
      void client.invalidateQueries({ queryKey: ['codes', props.lock.id] })
    },
  })
  const submit = (event: FormEvent) => {
    event.preventDefault()
    setLocalError(null)
    if (kind === 'timed' && (startsAt === '' || endsAt === ''))
      return setLocalError('A timed code needs a start and an end.')
    if (kind === 'recurring' && slot.days.length === 0) return setLocalError('Pick at least one day.')
    create.mutate()
  }
  const kinds: Kind[] = ['one_time', 'timed', 'recurring', 'permanent']
  return (
    <form className="card" onSubmit={submit} aria-label="Generate a code">
      <InputField
        label="Name"
        hint="A label such as “Cleaner – Tuesday”, so you can audit later."
        required
        value={name}
        onValue={setName}
      />
      <RadioGroup
        legend="Kind"
        name="kind"
        row
        value={kind}
        options={kinds.map((k) => [k, KIND_WORDS[k]] as const)}
        onChange={setKind}
      />
      {(kind === 'timed' || kind === 'one_time') && (
        <div className="row">
          <Field label={`Starts (${zone})`} hint={kind === 'one_time' ? 'Optional' : undefined}>
            {(id, hint) => (
              <input
                id={id}
                aria-describedby={hint}
                type="datetime-local"
                value={startsAt}
                onChange={(e) => setStartsAt(e.target.value)}
              />
            )}
          </Field>
          <Field label={`Ends (${zone})`} hint={kind === 'one_time' ? 'Optional' : undefined}>
            {(id, hint) => (
              <input
                id={id}
                aria-describedby={hint}
                type="datetime-local"
                value={endsAt}
                onChange={(e) => setEndsAt(e.target.value)}
              />
            )}
          </Field>
        </div>
      )}
      {kind === 'recurring' && <WeeklySchedule zone={zone} slot={slot} onChange={setSlot} />}
      <div className="row">
        <InputField
          label="Use limit"
          hint="Optional: stops after this many uses."
          type="number"
          min={1}
          value={maxUses}
          onValue={setMaxUses}
        />
        <InputField
          label="PIN"
          hint="Optional: 4–10 digits; empty for a generated one."
          inputMode="numeric"
          pattern="\d{4,10}"
          value={pin}
          onValue={setPin}
        />
      </div>
      {/* offline codes and gateways are the latchkey driver's: a Matter lock takes its codes over IP */}
      {props.lock.driver === 'latchkey' && (
        <RadioGroup
          legend="Delivery"
          name="delivery"
          value={delivery}
          options={[
            ['auto', 'Automatic: through the gateway when the lock is reachable, else an offline code'],
            ['synced', 'Through the gateway: to the minute, revocable at once, takes one slot on the lock'],
            [
              'offline',
              'Offline code: works with no gateway, to the hour; must first be used within 24 hours of its start (one-time: 6 hours); can be revoked only once the lock is reached again',
            ],
          ]}
          onChange={setDelivery}
        />
      )}
      {localError && (
        <div className="notice bad" role="alert">
          {localError}
        </div>
      )}
      <ErrorNotice error={create.error} />
      <button type="submit" disabled={create.isPending}>
        Generate
      </button>
    </form>
  )
}
