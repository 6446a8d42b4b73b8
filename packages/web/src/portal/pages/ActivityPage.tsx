import { useInfiniteQuery, useQuery } from '@tanstack/react-query'
import { useState } from 'react'
import { ok } from '../../api/client.ts'
import { formatTime, localToUtc } from '../../time.ts'
import { ErrorNotice, Field, InputField } from '../../ui/kit.tsx'
import { eventWords } from '../../words.ts'
import { api } from '../api.ts'
import { useLocks } from './LocksPage.tsx'

const PAGE_SIZE = 50
/** Every status of a code, so the search finds deleted codes as well. */
const EVERY_STATUS = 'scheduled,setting,set,removing,removed,failed,issued'

const TYPES = [
  ['', 'All'],
  ['lock.unlocked', 'Opened'],
  ['lock.access_denied', 'Refused'],
  ['access_code.created', 'Code created'],
  ['access_code.deleted', 'Code deleted'],
  ['unique_code.login', 'Code Login'],
  ['permission.granted', 'Shared'],
  ['permission.revoked', 'Share revoked'],
] as const

export function ActivityPage() {
  const locks = useLocks()
  const uniqueCodes = useQuery({
    queryKey: ['unique-codes'],
    queryFn: () => ok(api.GET('/api/v1/unique-codes')),
  })
  const properties = useQuery({ queryKey: ['properties'], queryFn: () => ok(api.GET('/api/v1/properties')) })
  const [lockId, setLockId] = useState('')
  const [propertyId, setPropertyId] = useState('')
  const [accessCodeId, setAccessCodeId] = useState('')
  const [uniqueCodeId, setUniqueCodeId] = useState('')
  const [type, setType] = useState('')
  const [from, setFrom] = useState('')
  const [to, setTo] = useState('')
  const zone = Intl.DateTimeFormat().resolvedOptions().timeZone
  // the codes to pick from: those of the lock or property picked, else of every lock; deleted ones too,
  // since their activity stays in the log
  const codeScope = { ...(lockId ? { lockId } : {}), ...(propertyId ? { propertyId } : {}) }
  const codes = useQuery({
    queryKey: ['access-codes', 'search', codeScope],
    queryFn: () =>
      ok(
        api.GET('/api/v1/access-codes', {
          params: { query: { ...codeScope, status: EVERY_STATUS, limit: 500 } },
        }),
      ),
  })
  const query = {
    ...(lockId ? { lockId } : {}),
    ...(propertyId ? { propertyId } : {}),
    ...(accessCodeId ? { accessCodeId } : {}),
    ...(uniqueCodeId ? { uniqueCodeId } : {}),
    ...(type ? { type } : {}),
    ...(from ? { from: localToUtc(`${from}T00:00`, zone) ?? undefined } : {}),
    ...(to ? { to: localToUtc(`${to}T23:59:59`, zone) ?? undefined } : {}),
  }
  // newest first, a page at a time; older pages on request
  const events = useInfiniteQuery({
    queryKey: ['events', query],
    initialPageParam: undefined as string | undefined,
    queryFn: ({ pageParam }) =>
      ok(
        api.GET('/api/v1/events', {
          params: { query: { ...query, limit: PAGE_SIZE, ...(pageParam ? { after: pageParam } : {}) } },
        }),
      ),
    getNextPageParam: (page) => page.nextCursor,
  })
  const items = events.data?.pages.flatMap((page) => page.items) ?? []
  const lockById = new Map((locks.data?.items ?? []).map((l) => [l.id, l]))
  const propertyById = new Map((properties.data?.items ?? []).map((p) => [p.id, p]))
  const lockName = (id: string | null) => (id === null ? 'A lock' : (lockById.get(id)?.name ?? 'A lock'))
  const csv = `/api/v1/events.csv?${new URLSearchParams(query as Record<string, string>).toString()}`
  return (
    <>
      <div className="header-row">
        <h1>Activity</h1>
        <a className="button secondary" href={csv} download="activity.csv">
          Export CSV
        </a>
      </div>
      <form className="row card" aria-label="Filters" onSubmit={(e) => e.preventDefault()}>
        <Field label="Lock">
          {(id) => (
            <select
              id={id}
              value={lockId}
              onChange={(e) => {
                setLockId(e.target.value)
                setAccessCodeId('')
              }}
            >
              <option value="">All locks</option>
              {(locks.data?.items ?? []).map((l) => (
                <option key={l.id} value={l.id}>
                  {l.name}
                </option>
              ))}
            </select>
          )}
        </Field>
        <Field label="Property">
          {(id) => (
            <select
              id={id}
              value={propertyId}
              onChange={(e) => {
                setPropertyId(e.target.value)
                setAccessCodeId('')
              }}
            >
              <option value="">All properties</option>
              {(properties.data?.items ?? []).map((p) => (
                <option key={p.id} value={p.id}>
                  {p.name}
                </option>
              ))}
            </select>
          )}
        </Field>
        <Field label="Code">
          {(id) => (
            <select id={id} value={accessCodeId} onChange={(e) => setAccessCodeId(e.target.value)}>
              <option value="">Any</option>
              {(codes.data?.items ?? []).map((c) => (
                <option key={c.id} value={c.id}>
                  {c.name} — {lockName(c.lockId)}
                  {c.deletedAt === null ? '' : ' (deleted)'}
                </option>
              ))}
            </select>
          )}
        </Field>
        <Field label="Unique code">
          {(id) => (
            <select id={id} value={uniqueCodeId} onChange={(e) => setUniqueCodeId(e.target.value)}>
              <option value="">Any</option>
              {(uniqueCodes.data?.items ?? []).map((c) => (
                <option key={c.id} value={c.id}>
                  {c.description}
                </option>
              ))}
            </select>
          )}
        </Field>
        <Field label="Type">
          {(id) => (
            <select id={id} value={type} onChange={(e) => setType(e.target.value)}>
              {TYPES.map(([value, label]) => (
                <option key={value} value={value}>
                  {label}
                </option>
              ))}
            </select>
          )}
        </Field>
        <InputField label="From" type="date" value={from} onValue={setFrom} />
        <InputField label="To" type="date" value={to} onValue={setTo} />
      </form>
      <ErrorNotice error={events.error} />
      <div className="table-wrap">
        <table aria-label="Activity">
          <thead>
            <tr>
              <th scope="col">When</th>
              <th scope="col">What</th>
            </tr>
          </thead>
          <tbody>
            {items.map((event) => {
              // on the clock of its lock, or of its property (a stay's events name no lock)
              const lock = event.lockId === null ? undefined : lockById.get(event.lockId)
              const property = propertyById.get(String(event.data.propertyId))
              return (
                <tr key={event.id}>
                  <td>{formatTime(event.occurredAt, lock?.timezone ?? property?.timezone ?? zone)}</td>
                  <td>{eventWords(event, lockName)}</td>
                </tr>
              )
            })}
          </tbody>
        </table>
      </div>
      {events.hasNextPage && (
        <button
          type="button"
          className="secondary"
          disabled={events.isFetchingNextPage}
          onClick={() => void events.fetchNextPage()}
        >
          Show older events
        </button>
      )}
      {events.isSuccess && items.length === 0 && (
        <p className="muted">
          {Object.keys(query).length === 0 ? 'Nothing happened yet.' : 'Nothing matches these filters.'}
        </p>
      )}
    </>
  )
}
