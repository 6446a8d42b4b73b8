import { useMutation, useQuery, useQueryClient } from '@tanstack/react-query'
import { type FormEvent, useState } from 'react'
import { ok } from '../../api/client.ts'
import { ErrorNotice, Field, InputField, Notice } from '../../ui/kit.tsx'
import { ROLE_WORDS, type RoleName } from '../../words.ts'
import { api } from '../api.ts'

const ROLES = Object.keys(ROLE_WORDS) as RoleName[]

export function MembersPage() {
  const me = useQuery({ queryKey: ['me'], queryFn: () => ok(api.GET('/api/v1/me')) })
  const manages = me.data?.role === 'owner' || me.data?.role === 'admin'
  return (
    <>
      <h1>Members</h1>
      <MemberList me={me.data} manages={manages} />
      {manages && <Invitations isOwner={me.data?.role === 'owner'} />}
      <ApiKeys />
    </>
  )
}

function MemberList(props: { me: { userId: string; role: string } | undefined; manages: boolean }) {
  const client = useQueryClient()
  const members = useQuery({ queryKey: ['members'], queryFn: () => ok(api.GET('/api/v1/members')) })
  const refresh = () => {
    void client.invalidateQueries({ queryKey: ['members'] })
    void client.invalidateQueries({ queryKey: ['me'] })
  }
  const changeRole = useMutation({
    mutationFn: (change: { userId: string; role: RoleName }) =>
      ok(
        api.PATCH('/api/v1/members/{userId}', {
          params: { path: { userId: change.userId } },
          body: { role: change.role },
        }),
      ),
    onSettled: refresh,
  })
  const remove = useMutation({
    mutationFn: (userId: string) =>
      ok(api.DELETE('/api/v1/members/{userId}', { params: { path: { userId } } })),
    onSettled: refresh,
  })
  const isOwner = props.me?.role === 'owner'
  return (
    <>
      <ErrorNotice error={members.error ?? changeRole.error ?? remove.error} />
      {changeRole.isSuccess && (
        <Notice tone="ok">
          {changeRole.data.email} is now {ROLE_WORDS[changeRole.data.role].toLowerCase()}.
        </Notice>
      )}
      <table aria-label="Members">
        <thead>
          <tr>
            <th scope="col">Email</th>
            <th scope="col">Role</th>
            {props.manages && (
              <th scope="col">
                <span className="visually-hidden">Actions</span>
              </th>
            )}
          </tr>
        </thead>
        <tbody>
          {(members.data?.items ?? []).map((m) => (
            <tr key={m.userId}>
              <td>
                {m.email}
                {m.userId === props.me?.userId && <span className="muted"> (you)</span>}
              </td>
              <td>
                {props.manages ? (
                  <select
                    aria-label={`Role of ${m.email}`}
                    value={m.role}
                    disabled={changeRole.isPending || (m.role === 'owner' && !isOwner)}
                    onChange={(e) =>
                      changeRole.mutate({ userId: m.userId, role: e.target.value as RoleName })
                    }
                  >
                    {ROLES.filter((role) => isOwner || role !== 'owner' || m.role === 'owner').map((role) => (
                      <option key={role} value={role}>
                        {ROLE_WORDS[role]}
                      </option>
                    ))}
                  </select>
                ) : (
                  ROLE_WORDS[m.role]
                )}
              </td>
              {props.manages && (
                <td>
                  {m.userId !== props.me?.userId && (m.role !== 'owner' || isOwner) && (
                    <button
                      type="button"
                      className="danger"
                      aria-label={`Remove ${m.email}`}
                      disabled={remove.isPending}
                      onClick={() => remove.mutate(m.userId)}
                    >
                      Remove
                    </button>
                  )}
                </td>
              )}
            </tr>
          ))}
        </tbody>
      </table>
    </>
  )
}

function Invitations(props: { isOwner: boolean }) {
  const client = useQueryClient()
  const invitations = useQuery({
    queryKey: ['invitations'],
    queryFn: () => ok(api.GET('/api/v1/invitations')),
  })
  const [email, setEmail] = useState('')
  const [role, setRole] = useState<RoleName>('member')
  const [copied, setCopied] = useState<boolean | null>(null)
  const invite = useMutation({
    mutationFn: () => ok(api.POST('/api/v1/invitations', { body: { email, role } })),
    onSuccess: () => {
      setEmail('')
      setCopied(null)
      void client.invalidateQueries({ queryKey: ['invitations'] })
    },
  })
  const revoke = useMutation({
    mutationFn: (id: string) => ok(api.DELETE('/api/v1/invitations/{id}', { params: { path: { id } } })),
    onSuccess: () => client.invalidateQueries({ queryKey: ['invitations'] }),
  })
  const submit = (event: FormEvent) => {
    event.preventDefault()
    invite.mutate()
  }
  const created = invite.data
  const copy = () => {
    if (created === undefined) return
    navigator.clipboard?.writeText(created.link).then(
      () => setCopied(true),
      () => setCopied(false),
    )
  }
  return (
    <>
      <h2>Invite someone</h2>
      <form className="row card" onSubmit={submit} aria-label="Invite someone">
        <InputField label="Email of the person" type="email" required value={email} onValue={setEmail} />
        <Field label="Role">
          {(id) => (
            <select id={id} value={role} onChange={(e) => setRole(e.target.value as RoleName)}>
              {ROLES.filter((r) => props.isOwner || r !== 'owner').map((r) => (
                <option key={r} value={r}>
                  {ROLE_WORDS[r]}
                </option>
              ))}
            </select>
          )}
        </Field>
        <button type="submit" disabled={invite.isPending}>
          Invite
        </button>
      </form>
      <ErrorNotice error={invite.error ?? revoke.error ?? invitations.error} />
      {created !== undefined && (
        <Notice tone="ok">
          <p>Send this link to {created.email}. It is shown only now, works once, and is valid for 7 days.</p>
          <div className="row">
            <input
              aria-label="Invitation link"
              readOnly
              value={created.link}
              data-testid="invitation-link"
              onFocus={(e) => e.target.select()}
            />
            <button type="button" className="secondary" onClick={copy}>
              Copy link
            </button>
          </div>
          {copied === true && <p>Copied.</p>}
          {copied === false && <p>This browser did not allow copying: select the link and copy it.</p>}
        </Notice>
      )}
      <h2>Pending invitations</h2>
      {invitations.data?.items.length === 0 ? (
        <p className="muted">No invitation is waiting to be accepted.</p>
      ) : (
        <table aria-label="Pending invitations">
          <thead>
            <tr>
              <th scope="col">Email</th>
              <th scope="col">Role</th>
              <th scope="col">Status</th>
              <th scope="col">
                <span className="visually-hidden">Actions</span>
              </th>
            </tr>
          </thead>
          <tbody>
            {(invitations.data?.items ?? []).map((i) => (
              <tr key={i.id}>
                <td>{i.email}</td>
                <td>{ROLE_WORDS[i.role]}</td>
                <td>{i.status === 'pending' ? 'Waiting to be accepted' : 'Expired: invite again'}</td>
                <td>
                  <button
                    type="button"
                    className="danger"
                    aria-label={`Revoke the invitation for ${i.email}`}
                    disabled={revoke.isPending}
                    onClick={() => revoke.mutate(i.id)}
                  >
                    Revoke
                  </button>
                </td>
              </tr>
            ))}
          </tbody>
        </table>
      )}
    </>
  )
}

function ApiKeys() {
  const client = useQueryClient()
  const keys = useQuery({ queryKey: ['api-keys'], queryFn: () => ok(api.GET('/api/v1/api-keys')) })
  const [name, setName] = useState('')
  const create = useMutation({
    mutationFn: () => ok(api.POST('/api/v1/api-keys', { body: { name } })),
    onSuccess: () => client.invalidateQueries({ queryKey: ['api-keys'] }),
  })
  const remove = useMutation({
    mutationFn: (id: string) => ok(api.DELETE('/api/v1/api-keys/{id}', { params: { path: { id } } })),
    onSuccess: () => client.invalidateQueries({ queryKey: ['api-keys'] }),
  })
  const submit = (event: FormEvent) => {
    event.preventDefault()
    create.mutate()
  }
  const created = create.data as { key?: string } | undefined
  return (
    <>
      <h2>API keys</h2>
      <form className="row card" onSubmit={submit} aria-label="New API key">
        <InputField label="Key name" required value={name} onValue={setName} />
        <button type="submit">Create API key</button>
      </form>
      <ErrorNotice error={create.error ?? remove.error} />
      {created?.key && (
        <Notice tone="ok">
          Your new key (shown once): <code>{created.key}</code>
        </Notice>
      )}
      <table aria-label="API keys">
        <thead>
          <tr>
            <th scope="col">Name</th>
            <th scope="col">Starts with</th>
            <th scope="col">
              <span className="visually-hidden">Actions</span>
            </th>
          </tr>
        </thead>
        <tbody>
          {(keys.data?.items ?? []).map((k) => (
            <tr key={k.id}>
              <td>{k.name}</td>
              <td>
                <code>{k.prefix}</code>
              </td>
              <td>
                <button
                  type="button"
                  className="danger"
                  aria-label={`Delete key ${k.name}`}
                  onClick={() => remove.mutate(k.id)}
                >
                  Delete
                </button>
              </td>
            </tr>
          ))}
        </tbody>
      </table>
    </>
  )
}
