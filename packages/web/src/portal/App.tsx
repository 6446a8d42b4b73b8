import { useMutation, useQuery, useQueryClient } from '@tanstack/react-query'
import { type FormEvent, useState } from 'react'
import { ok } from '../api/client.ts'
import { ErrorNotice, InputField } from '../ui/kit.tsx'
import { api } from './api.ts'
import { useLiveEvents } from './live.ts'
import { AcceptInvitationPage } from './pages/AcceptInvitationPage.tsx'
import { ActivityPage } from './pages/ActivityPage.tsx'
import { GatewaysPage } from './pages/GatewaysPage.tsx'
import { LockPage } from './pages/LockPage.tsx'
import { LocksPage } from './pages/LocksPage.tsx'
import { MembersPage } from './pages/MembersPage.tsx'
import { PermissionsPage } from './pages/PermissionsPage.tsx'
import { PropertiesPage } from './pages/PropertiesPage.tsx'
import { SettingsPage } from './pages/SettingsPage.tsx'
import { UniqueCodesPage } from './pages/UniqueCodesPage.tsx'
import { Link, navigate, usePath } from './router.tsx'

const MENU = [
  ['/', 'My Locks'],
  ['/unique-codes', 'Unique Codes'],
  ['/properties', 'Properties'],
  ['/permissions', 'Permissions'],
  ['/activity', 'Activity'],
  ['/gateways', 'Gateways'],
  ['/members', 'Members'],
  ['/settings', 'Settings'],
] as const

export function App() {
  const path = usePath()
  const me = useQuery({ queryKey: ['me'], queryFn: () => ok(api.GET('/api/v1/me')) })
  const signedIn = me.data !== undefined
  useLiveEvents(signedIn)
  if (me.isPending) return <p className="muted">Loading…</p>
  if (path === '/invitation') return <AcceptInvitationPage signedInEmail={me.data?.email} />
  if (!signedIn) return <SignIn />
  return <Layout organization={me.data.organizationName} email={me.data.email} />
}

function Layout(props: { organization: string; email: string }) {
  const path = usePath()
  const client = useQueryClient()
  const logout = useMutation({
    mutationFn: () => ok(api.POST('/api/v1/auth/logout')),
    onSettled: () => {
      client.clear()
      navigate('/')
      void client.invalidateQueries()
    },
  })
  const section = `/${path.split('/')[1] ?? ''}`
  const lockId = path.startsWith('/locks/') ? path.split('/')[2] : undefined
  return (
    <div className="layout">
      <nav className="nav" aria-label="Menu">
        <div className="brand">Latchkey</div>
        {MENU.map(([to, label]) => (
          <Link
            key={to}
            to={to}
            current={to === '/' ? section === '/' || section === '/locks' : section === to}
          >
            {label}
          </Link>
        ))}
        <button type="button" onClick={() => logout.mutate()}>
          Log out
        </button>
      </nav>
      <main>
        <p className="visually-hidden">
          Signed in as {props.email}, {props.organization}
        </p>
        {lockId !== undefined ? (
          <LockPage lockId={lockId} />
        ) : section === '/unique-codes' ? (
          <UniqueCodesPage />
        ) : section === '/properties' ? (
          <PropertiesPage propertyId={path.split('/')[2] || undefined} />
        ) : section === '/permissions' ? (
          <PermissionsPage />
        ) : section === '/activity' ? (
          <ActivityPage />
        ) : section === '/gateways' ? (
          <GatewaysPage />
        ) : section === '/members' ? (
          <MembersPage />
        ) : section === '/settings' ? (
          <SettingsPage />
        ) : (
          <LocksPage />
        )}
      </main>
    </div>
  )
}

function SignIn() {
  const client = useQueryClient()
  const [mode, setMode] = useState<'login' | 'signup'>('login')
  // Sign up only where the server takes one (LATCHKEY_SIGNUP)
  const signup = useQuery({ queryKey: ['signup'], queryFn: () => ok(api.GET('/api/v1/auth/signup')) })
  const canSignUp = signup.data?.allowed === true
  const [email, setEmail] = useState('')
  const [password, setPassword] = useState('')
  const [organizationName, setOrganizationName] = useState('')
  const title = mode === 'signup' && canSignUp ? 'Sign up' : 'Log in'
  const submit = useMutation({
    mutationFn: async () => {
      if (title === 'Log in') await ok(api.POST('/api/v1/auth/login', { body: { email, password } }))
      // a sign-up answers with the session cookie of the new owner
      else await ok(api.POST('/api/v1/auth/signup', { body: { email, password, organizationName } }))
    },
    onSuccess: () => client.invalidateQueries({ queryKey: ['me'] }),
    onError: () => client.invalidateQueries({ queryKey: ['signup'] }),
  })
  const onSubmit = (event: FormEvent) => {
    event.preventDefault()
    submit.mutate()
  }
  return (
    <main style={{ maxWidth: 420, margin: '3rem auto' }}>
      <div className="card">
        <h1>Latchkey — {title}</h1>
        <form onSubmit={onSubmit}>
          {title === 'Sign up' && (
            <InputField
              label="Organization name"
              required
              value={organizationName}
              onValue={setOrganizationName}
            />
          )}
          <InputField
            label="Email"
            type="email"
            autoComplete="username"
            required
            value={email}
            onValue={setEmail}
          />
          <InputField
            label="Password"
            type="password"
            autoComplete={title === 'Log in' ? 'current-password' : 'new-password'}
            required
            value={password}
            onValue={setPassword}
          />
          <ErrorNotice error={submit.error} />
          <div className="row">
            <button type="submit" disabled={submit.isPending}>
              {title}
            </button>
            {(canSignUp || title === 'Sign up') && (
              <button
                type="button"
                className="secondary"
                onClick={() => {
                  submit.reset()
                  setMode(title === 'Log in' ? 'signup' : 'login')
                }}
              >
                {title === 'Log in' ? 'Sign up: create an organization' : 'I have an account'}
              </button>
            )}
          </div>
          {signup.data?.allowed === false && (
            <p className="muted">
              New to Latchkey? Ask an owner or admin of your organization for an invitation link.
            </p>
          )}
        </form>
      </div>
    </main>
  )
}
