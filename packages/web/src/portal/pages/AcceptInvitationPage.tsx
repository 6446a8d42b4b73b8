/** `/invitation#lki_…`: the link of an invitation. The token stays in the fragment, never in a request line. */
import { useMutation, useQuery, useQueryClient } from '@tanstack/react-query'
import { type FormEvent, useState } from 'react'
import { ok } from '../../api/client.ts'
import { ErrorNotice, InputField, Notice } from '../../ui/kit.tsx'
import { ROLE_WORDS } from '../../words.ts'
import { api } from '../api.ts'
import { navigate } from '../router.tsx'

export function AcceptInvitationPage(props: { signedInEmail: string | undefined }) {
  const client = useQueryClient()
  const [token] = useState(() => window.location.hash.replace(/^#/, ''))
  const invitation = useQuery({
    queryKey: ['invitation', token],
    enabled: token !== '',
    queryFn: () => ok(api.POST('/api/v1/auth/invitation', { body: { token } })),
  })
  const [password, setPassword] = useState('')
  const [name, setName] = useState('')
  const accept = useMutation({
    mutationFn: (withPassword: boolean) =>
      ok(
        api.POST('/api/v1/auth/accept-invitation', {
          body: withPassword ? { token, password, ...(name.trim() ? { name: name.trim() } : {}) } : { token },
        }),
      ),
    onSuccess: async () => {
      // signed in now with the session of the organization joined (the answer's cookie)
      navigate('/')
      await client.resetQueries()
    },
  })
  const submit = (event: FormEvent) => {
    event.preventDefault()
    accept.mutate(true)
  }
  return (
    <main style={{ maxWidth: 460, margin: '3rem auto' }}>
      <div className="card">
        <h1>Accept invitation</h1>
        {token === '' ? (
          <Notice tone="bad">
            This link has no invitation in it. Open the whole link you were sent, or ask for a new one.
          </Notice>
        ) : invitation.isPending ? (
          <p className="muted">Loading…</p>
        ) : invitation.data === undefined ? (
          <ErrorNotice error={invitation.error} />
        ) : (
          <>
            <p>
              You are invited to <strong>{invitation.data.organizationName}</strong> as{' '}
              {ROLE_WORDS[invitation.data.role].toLowerCase()}, at {invitation.data.email}.
            </p>
            <p>
              Choose a password for your new account, or, if you already have a Latchkey account with this
              e-mail, enter its password.
            </p>
            <form onSubmit={submit} aria-label="Accept invitation">
              <InputField label="Your name (optional)" autoComplete="name" value={name} onValue={setName} />
              <InputField
                label="Password"
                hint="At least 8 characters."
                type="password"
                autoComplete="new-password"
                required
                minLength={8}
                value={password}
                onValue={setPassword}
              />
              <ErrorNotice error={accept.error} />
              <div className="row">
                <button type="submit" disabled={accept.isPending}>
                  Accept invitation
                </button>
                {props.signedInEmail === invitation.data.email && (
                  <button
                    type="button"
                    className="secondary"
                    disabled={accept.isPending}
                    onClick={() => accept.mutate(false)}
                  >
                    Join as {props.signedInEmail}
                  </button>
                )}
              </div>
            </form>
          </>
        )}
      </div>
    </main>
  )
}
