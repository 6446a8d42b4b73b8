/**
 * The end user's app (`/app`): Code Login with a unique code, the locks shared to it, open one.
 * The session lives on the device: a device id made once, and the token, in localStorage.
 */
import { type FormEvent, useCallback, useEffect, useState } from 'react'
import { ApiError, makeClient, ok, type Schemas } from '../api/client.ts'
import { formatLocal, formatLocalWindow, formatSchedule } from '../wall-clock.ts'

type AppLock = Schemas['AppLock']
const DEVICE_KEY = 'latchkey.deviceId'
const TOKEN_KEY = 'latchkey.appToken'

function deviceId(): string {
  let id = localStorage.getItem(DEVICE_KEY)
  if (id === null) {
    id = crypto.randomUUID()
    localStorage.setItem(DEVICE_KEY, id)
  }
  return id
}

const api = makeClient(() => localStorage.getItem(TOKEN_KEY))

/** When to try again, in words: "Try again in 2 minutes (at 10:42)." */
function tryAgain(seconds: number | null): string {
  if (seconds === null || !Number.isFinite(seconds)) return 'Try again later.'
  const when = new Date(Date.now() + seconds * 1000)
  const at = `${String(when.getHours()).padStart(2, '0')}:${String(when.getMinutes()).padStart(2, '0')}`
  const span =
    seconds < 90 ? `${Math.max(1, Math.round(seconds))} seconds` : `${Math.round(seconds / 60)} minutes`
  return `Try again in ${span} (at ${at}).`
}

/** What a refusal means for the person holding the phone. */
export function loginWords(error: unknown): string {
  if (!(error instanceof ApiError))
    return 'The server cannot be reached. Check your connection and try again.'
  switch (error.code) {
    case 'invalid_code':
      return 'This code is not valid. Check it and type it again (letters and numbers, no need for the dash).'
    case 'code_bound_to_other_device':
      return 'This code is already in use on another device. Ask the person who gave it to you to reset it.'
    case 'rate_limited':
    case 'too_many_requests':
      return `Too many tries. ${tryAgain(error.retryAfterSeconds)}`
    default:
      return error.status === 429 ? `Too many tries. ${tryAgain(error.retryAfterSeconds)}` : error.message
  }
}

export function CodeLoginApp() {
  const [token, setToken] = useState(() => localStorage.getItem(TOKEN_KEY))
  const [locks, setLocks] = useState<AppLock[] | null>(null)
  const [signedOutReason, setSignedOutReason] = useState<string | null>(null)

  const signOut = useCallback((reason: string | null) => {
    localStorage.removeItem(TOKEN_KEY)
    setToken(null)
    setLocks(null)
    setSignedOutReason(reason)
  }, [])

  const load = useCallback(async () => {
    try {
      const answer = await ok(api.GET('/api/v1/app/locks'))
      setLocks(answer.items)
    } catch (error) {
      if (error instanceof ApiError && error.status === 401)
        signOut('Your code no longer works: it was deleted or has expired. You have been signed out.')
    }
  }, [signOut])

  useEffect(() => {
    if (token !== null) void load()
  }, [token, load])

  return (
    <main>
      <h1>{token === null ? 'Code Login' : 'Your locks'}</h1>
      {token === null ? (
        <CodeLogin
          notice={signedOutReason}
          onSignedIn={(answer) => {
            localStorage.setItem(TOKEN_KEY, answer.token)
            setSignedOutReason(null)
            setLocks(answer.locks)
            setToken(answer.token)
          }}
        />
      ) : (
        <>
          {locks === null ? (
            <p className="muted">Loading…</p>
          ) : locks.length === 0 ? (
            <p>No locks are shared with this code yet.</p>
          ) : (
            <ul aria-label="Your locks">
              {locks.map((lock) => (
                <LockItem key={lock.id} lock={lock} onSignedOut={signOut} />
              ))}
            </ul>
          )}
          <button type="button" className="secondary" onClick={() => signOut(null)}>
            Sign out
          </button>
        </>
      )}
    </main>
  )
}

function CodeLogin(props: {
  notice: string | null
  onSignedIn: (answer: { token: string; locks: AppLock[] }) => void
}) {
  const [code, setCode] = useState('')
  const [error, setError] = useState<string | null>(null)
  const [busy, setBusy] = useState(false)
  const submit = async (event: FormEvent) => {
    event.preventDefault()
    setBusy(true)
    setError(null)
    try {
      props.onSignedIn(await ok(api.POST('/api/v1/app/code-login', { body: { code, deviceId: deviceId() } })))
    } catch (failure) {
      setError(loginWords(failure))
    } finally {
      setBusy(false)
    }
  }
  return (
    <form onSubmit={submit}>
      {props.notice && (
        <div className="notice" role="status">
          {props.notice}
        </div>
      )}
      <label htmlFor="unique-code">Your unique code</label>
      <p className="muted" id="unique-code-hint">
        10 letters and numbers, as you were given them, e.g. ABCDE-FGHJK. Capitals and the dash do not matter.
      </p>
      <input
        id="unique-code"
        aria-describedby="unique-code-hint"
        autoComplete="one-time-code"
        autoCapitalize="characters"
        spellCheck={false}
        required
        value={code}
        onChange={(e) => setCode(e.target.value)}
      />
      {error && (
        <div className="notice bad" role="alert">
          {error}
        </div>
      )}
      <button type="submit" disabled={busy}>
        Log in
      </button>
    </form>
  )
}

/** When a share opens the lock, on the lock's clock: "Opens Tue, Thu 09:00–12:00"; null: any time. */
function opens(lock: AppLock): string | null {
  if (lock.level === 'one_time') return 'Opens once'
  if (lock.schedule !== null) return `Opens ${formatSchedule(lock.schedule)}`
  const window = formatLocalWindow(lock.startsAtLocal, lock.endsAtLocal)
  return window === '' ? null : `Opens ${window}`
}

function LockItem(props: { lock: AppLock; onSignedOut: (reason: string) => void }) {
  const [result, setResult] = useState<{ tone: 'ok' | 'bad'; text: string } | null>(null)
  const [busy, setBusy] = useState(false)
  const open = async () => {
    setBusy(true)
    setResult(null)
    try {
      const answer = await ok(
        api.POST('/api/v1/app/locks/{id}/unlock', { params: { path: { id: props.lock.id } } }),
      )
      if (answer.status === 'done') setResult({ tone: 'ok', text: `${props.lock.name} is open.` })
      else if (answer.status === 'pending')
        setResult({ tone: 'ok', text: `Sent to ${props.lock.name}; it has not answered yet.` })
      else setResult({ tone: 'bad', text: answer.error?.message ?? `${props.lock.name} refused.` })
    } catch (error) {
      if (error instanceof ApiError && error.status === 401) {
        props.onSignedOut(
          'Your code no longer works: it was deleted or has expired. You have been signed out.',
        )
        return
      }
      const text =
        error instanceof ApiError
          ? error.status === 429
            ? `Too many tries. ${tryAgain(error.retryAfterSeconds)}`
            : error.status === 404
              ? `${props.lock.name} is no longer shared with you.`
              : error.message
          : 'The server cannot be reached. Check your connection and try again.'
      setResult({ tone: 'bad', text })
    } finally {
      setBusy(false)
    }
  }
  return (
    <li>
      <h2>{props.lock.name}</h2>
      {opens(props.lock) !== null && <p>{opens(props.lock)}</p>}
      <p className="muted">
        {props.lock.accessEndsAtLocal === null
          ? props.lock.timezone
          : `Access until ${formatLocal(props.lock.accessEndsAtLocal)} (${props.lock.timezone})`}
      </p>
      <button type="button" onClick={open} disabled={busy} aria-label={`Open ${props.lock.name}`}>
        Open
      </button>
      <div aria-live="polite">{result && <div className={`notice ${result.tone}`}>{result.text}</div>}</div>
    </li>
  )
}
