import { useMutation, useQuery, useQueryClient } from '@tanstack/react-query'
import { type FormEvent, useState } from 'react'
import { type Lock, ok } from '../../api/client.ts'
import { pickedLocal } from '../../time.ts'
import { ErrorNotice, Field, InputField, Notice, RadioGroup } from '../../ui/kit.tsx'
import { clockWords, LEVEL_WORDS, reachWords } from '../../words.ts'
import { api } from '../api.ts'
import { Link } from '../router.tsx'
import { DEFAULT_SLOT, scheduleOf, WeeklySchedule, type WeeklySlot } from '../weekly-schedule.tsx'

export function useLocks() {
  return useQuery({
    queryKey: ['locks'],
    queryFn: () => ok(api.GET('/api/v1/locks', { params: { query: { limit: 200 } } })),
  })
}

export function useGateways() {
  return useQuery({ queryKey: ['gateways'], queryFn: () => ok(api.GET('/api/v1/gateways')) })
}

export function LocksPage() {
  const locks = useLocks()
  const gateways = useGateways()
  const [selected, setSelected] = useState<string[]>([])
  const [sharing, setSharing] = useState(false)
  const gatewayOnline = (id: string) => gateways.data?.items.find((g) => g.id === id)?.online
  const items = locks.data?.items ?? []
  const toggle = (id: string) =>
    setSelected((current) => (current.includes(id) ? current.filter((x) => x !== id) : [...current, id]))
  return (
    <>
      <div className="header-row">
        <h1>My Locks</h1>
        <button type="button" disabled={selected.length === 0} onClick={() => setSharing(true)}>
          Share
        </button>
      </div>
      <ErrorNotice error={locks.error} />
      {sharing && (
        <SharePanel locks={items.filter((l) => selected.includes(l.id))} onDone={() => setSharing(false)} />
      )}
      <div className="table-wrap">
        <table aria-label="My Locks">
          <thead>
            <tr>
              <th scope="col">
                <span className="visually-hidden">Select</span>
              </th>
              <th scope="col">Lock</th>
              <th scope="col">Status</th>
              <th scope="col">Battery</th>
              <th scope="col">Clock</th>
              <th scope="col">Codes</th>
              <th scope="col">Warnings</th>
            </tr>
          </thead>
          <tbody>
            {items.map((lock) => {
              const warnings: string[] = []
              if (lock.battery !== null && lock.battery < 20) warnings.push('Battery low')
              if (lock.capacity.used >= lock.capacity.total * 0.9) warnings.push('Almost full of codes')
              if (!lock.clockSet) warnings.push('Time-bound codes fail until the clock is synced')
              return (
                <tr key={lock.id}>
                  <td>
                    <input
                      type="checkbox"
                      aria-label={`Select ${lock.name}`}
                      checked={selected.includes(lock.id)}
                      onChange={() => toggle(lock.id)}
                    />
                  </td>
                  <td>
                    <Link to={`/locks/${lock.id}`}>{lock.name}</Link>
                    <div className="muted">{lock.timezone}</div>
                  </td>
                  <td className={lock.online ? 'ok' : 'bad'}>{reachWords(lock, gatewayOnline)}</td>
                  <td>{lock.battery === null ? 'Unknown' : `${lock.battery}%`}</td>
                  <td>{clockWords(lock)}</td>
                  <td>
                    {lock.capacity.used} of {lock.capacity.total} used
                  </td>
                  <td className="warn">{warnings.join('; ') || <span className="muted">None</span>}</td>
                </tr>
              )
            })}
          </tbody>
        </table>
      </div>
      {locks.isSuccess && items.length === 0 && <p>No locks yet.</p>}
    </>
  )
}

function SharePanel(props: { locks: Lock[]; onDone: () => void }) {
  const client = useQueryClient()
  const uniqueCodes = useQuery({
    queryKey: ['unique-codes'],
    queryFn: () => ok(api.GET('/api/v1/unique-codes')),
  })
  const [recipient, setRecipient] = useState<'unique_code' | 'user'>('unique_code')
  const [uniqueCodeId, setUniqueCodeId] = useState('')
  const [email, setEmail] = useState('')
  const [level, setLevel] = useState<'maintenance' | 'restricted' | 'one_time' | 'admin'>('maintenance')
  const [startsAt, setStartsAt] = useState('')
  const [endsAt, setEndsAt] = useState('')
  const [when, setWhen] = useState<'window' | 'weekly'>('window')
  const [slot, setSlot] = useState<WeeklySlot>(DEFAULT_SLOT)
  const zones = [...new Set(props.locks.map((l) => l.timezone))]
  // each lock reads the times on its own clock
  const zone = zones.length === 1 ? zones[0]! : 'each lock’s own time'
  const active = (uniqueCodes.data?.items ?? []).filter((c) => c.status === 'active')
  const share = useMutation({
    mutationFn: () => {
      const windowed = level === 'restricted' && when === 'window'
      const start = windowed ? pickedLocal(startsAt) : null
      const end = windowed ? pickedLocal(endsAt) : null
      return ok(
        api.POST('/api/v1/permissions', {
          body: {
            lockIds: props.locks.map((l) => l.id),
            grantee:
              recipient === 'unique_code' ? { type: 'unique_code', uniqueCodeId } : { type: 'user', email },
            level,
            ...(start === null ? {} : { startsAt: start }),
            ...(end === null ? {} : { endsAt: end }),
            ...(level === 'restricted' && when === 'weekly' ? { schedule: scheduleOf(slot) } : {}),
          },
        }),
      )
    },
    onSuccess: () => client.invalidateQueries({ queryKey: ['permissions'] }),
  })
  const submit = (event: FormEvent) => {
    event.preventDefault()
    share.mutate()
  }
  const levels =
    recipient === 'unique_code'
      ? (['maintenance', 'restricted', 'one_time'] as const)
      : (['admin', 'maintenance', 'restricted', 'one_time'] as const)
  return (
    <section className="card" aria-labelledby="share-title">
      <h2 id="share-title">Share {props.locks.map((l) => l.name).join(', ')}</h2>
      <form onSubmit={submit}>
        <RadioGroup
          legend="Recipient"
          name="recipient"
          value={recipient}
          options={[
            ['unique_code', 'Unique Code'],
            ['user', 'A user'],
          ]}
          onChange={setRecipient}
        />
        {recipient === 'unique_code' ? (
          <Field
            label="Code"
            hint={
              active.length === 0 ? 'No active unique codes yet: create one under Unique Codes.' : undefined
            }
          >
            {(id, hint) => (
              <select
                id={id}
                aria-describedby={hint}
                required
                value={uniqueCodeId}
                onChange={(e) => setUniqueCodeId(e.target.value)}
              >
                <option value="">Choose a unique code</option>
                {active.map((code) => (
                  <option key={code.id} value={code.id}>
                    {code.code} — {code.description}
                  </option>
                ))}
              </select>
            )}
          </Field>
        ) : (
          <InputField label="User's email" type="email" required value={email} onValue={setEmail} />
        )}
        <Field
          label="Level"
          hint={recipient === 'unique_code' ? 'A unique code can get at most Maintenance.' : undefined}
        >
          {(id, hint) => (
            <select
              id={id}
              aria-describedby={hint}
              value={level}
              onChange={(e) => setLevel(e.target.value as typeof level)}
            >
              {levels.map((l) => (
                <option key={l} value={l}>
                  {LEVEL_WORDS[l]}
                </option>
              ))}
            </select>
          )}
        </Field>
        {level === 'restricted' && (
          <RadioGroup
            legend="When"
            name="when"
            value={when}
            options={[
              ['window', 'A window'],
              ['weekly', 'Every week'],
            ]}
            onChange={setWhen}
          />
        )}
        {level === 'restricted' && when === 'weekly' && (
          <WeeklySchedule zone={zone} slot={slot} onChange={setSlot} />
        )}
        {level === 'restricted' && when === 'window' && (
          <div className="row">
            <InputField
              label={`From (${zone})`}
              type="datetime-local"
              value={startsAt}
              onValue={setStartsAt}
            />
            <InputField label={`Until (${zone})`} type="datetime-local" value={endsAt} onValue={setEndsAt} />
          </div>
        )}
        <ErrorNotice error={share.error} />
        {share.isSuccess && <Notice tone="ok">Shared {share.data.items.length} lock(s).</Notice>}
        <div className="row">
          <button type="submit" disabled={share.isPending}>
            Share access
          </button>
          <button type="button" className="secondary" onClick={props.onDone}>
            Close
          </button>
        </div>
      </form>
    </section>
  )
}
