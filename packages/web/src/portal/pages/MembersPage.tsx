import { useMutation, useQuery, useQueryClient } from '@tanstack/react-query'
import { type FormEvent, useState } from 'react'
import { ok } from '../../api/client.ts'
import { ErrorNotice, Field, Notice } from '../../ui/kit.tsx'
import { api } from '../api.ts'

export function MembersPage() {
  const client = useQueryClient()
  const members = useQuery({ queryKey: ['members'], queryFn: () => ok(api.GET('/api/v1/members')) })
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
      <h1>Members</h1>
      <ErrorNotice error={members.error} />
      <table aria-label="Members">
        <thead>
          <tr>
            <th scope="col">Email</th>
            <th scope="col">Role</th>
          </tr>
        </thead>
        <tbody>
          {(members.data?.items ?? []).map((m) => (
            <tr key={m.userId}>
              <td>{m.email}</td>
              <td>{m.role[0]!.toUpperCase() + m.role.slice(1)}</td>
            </tr>
          ))}
        </tbody>
      </table>
      <h2>API keys</h2>
      <form className="row card" onSubmit={submit} aria-label="New API key">
        <Field label="Key name">
          {(id) => <input id={id} required value={name} onChange={(e) => setName(e.target.value)} />}
        </Field>
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
