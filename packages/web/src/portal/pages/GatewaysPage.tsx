import { useMutation, useQuery, useQueryClient } from '@tanstack/react-query'
import { type FormEvent, useState } from 'react'
import { ok, type Schemas } from '../../api/client.ts'
import { formatTime } from '../../time.ts'
import { ErrorNotice, Field, InputField, Notice } from '../../ui/kit.tsx'
import { api } from '../api.ts'
import { useGateways } from './LocksPage.tsx'

type Login = Schemas['GatewayMqttLogin']
type Gateway = Schemas['Gateway']

export function GatewaysPage() {
  const client = useQueryClient()
  const gateways = useGateways()
  const me = useQuery({ queryKey: ['me'], queryFn: () => ok(api.GET('/api/v1/me')) })
  const manages = me.data?.role === 'owner' || me.data?.role === 'admin'
  const zone = Intl.DateTimeFormat().resolvedOptions().timeZone
  /** The login just made or rotated: shown this once. */
  const [login, setLogin] = useState<{ name: string; mqtt: Login; rotated: boolean } | null>(null)
  const [removed, setRemoved] = useState<{ name: string; locks: string[] } | null>(null)
  const [confirming, setConfirming] = useState<{ id: string; action: 'rotate' | 'remove' } | null>(null)
  const refresh = () => {
    void client.invalidateQueries({ queryKey: ['gateways'] })
    void client.invalidateQueries({ queryKey: ['locks'] })
  }
  const rotate = useMutation({
    mutationFn: (g: Gateway) =>
      ok(api.POST('/api/v1/gateways/{id}/rotate-token', { params: { path: { id: g.id } } })),
    onSuccess: (answer, g) => {
      setRemoved(null)
      setLogin({ name: g.name, mqtt: answer.mqtt, rotated: true })
    },
    onSettled: () => {
      setConfirming(null)
      refresh()
    },
  })
  const remove = useMutation({
    mutationFn: (g: Gateway) => ok(api.DELETE('/api/v1/gateways/{id}', { params: { path: { id: g.id } } })),
    onSuccess: (answer) => {
      setLogin(null)
      setRemoved({ name: answer.name, locks: answer.detachedLocks.map((l) => l.name) })
    },
    onSettled: () => {
      setConfirming(null)
      refresh()
    },
  })
  return (
    <>
      <h1>Gateways</h1>
      <ErrorNotice error={gateways.error ?? rotate.error ?? remove.error} />
      {login !== null && <GatewayLogin {...login} />}
      {removed !== null && (
        <Notice tone="ok">
          {removed.name} was removed: it can no longer connect.{' '}
          {removed.locks.length === 0
            ? 'No lock was behind it.'
            : `${removed.locks.join(', ')} ${removed.locks.length === 1 ? 'has' : 'have'} no gateway now and cannot be reached until ${removed.locks.length === 1 ? 'it is' : 'they are'} given another one.`}
        </Notice>
      )}
      <table aria-label="Gateways">
        <thead>
          <tr>
            <th scope="col">Gateway</th>
            <th scope="col">Status</th>
            <th scope="col">Locks</th>
            <th scope="col">Last seen</th>
            {manages && (
              <th scope="col">
                <span className="visually-hidden">Actions</span>
              </th>
            )}
          </tr>
        </thead>
        <tbody>
          {(gateways.data?.items ?? []).map((g) => (
            <tr key={g.id}>
              <td>{g.name}</td>
              <td className={g.online ? 'ok' : 'bad'}>{g.online ? 'Online' : 'Offline'}</td>
              <td>{g.lockCount}</td>
              <td>{formatTime(g.lastSeenAt, zone)}</td>
              {manages && (
                <td>
                  {confirming?.id === g.id ? (
                    <fieldset className="row" aria-label={`Confirm for ${g.name}`}>
                      <span>
                        {confirming.action === 'rotate'
                          ? `The old token of ${g.name} stops working at once; the gateway is offline until it is given the new one.`
                          : `${g.name} can no longer connect${g.lockCount > 0 ? `, and its ${g.lockCount === 1 ? 'lock' : `${g.lockCount} locks`} cannot be reached until given another gateway` : ''}.`}
                      </span>
                      <button
                        type="button"
                        className="danger"
                        disabled={rotate.isPending || remove.isPending}
                        onClick={() => (confirming.action === 'rotate' ? rotate.mutate(g) : remove.mutate(g))}
                      >
                        {confirming.action === 'rotate' ? 'Make a new token' : 'Remove gateway'}
                      </button>
                      <button type="button" className="secondary" onClick={() => setConfirming(null)}>
                        Cancel
                      </button>
                    </fieldset>
                  ) : (
                    <div className="row">
                      <button
                        type="button"
                        className="secondary"
                        aria-label={`New token for ${g.name}`}
                        onClick={() => setConfirming({ id: g.id, action: 'rotate' })}
                      >
                        New token
                      </button>
                      <button
                        type="button"
                        className="danger"
                        aria-label={`Remove ${g.name}`}
                        onClick={() => setConfirming({ id: g.id, action: 'remove' })}
                      >
                        Remove
                      </button>
                    </div>
                  )}
                </td>
              )}
            </tr>
          ))}
        </tbody>
      </table>
      {gateways.data?.items.length === 0 && <p className="muted">No gateway yet.</p>}
      {manages && (
        <AddGateway
          onAdded={(name, mqtt) => {
            setRemoved(null)
            setLogin({ name, mqtt, rotated: false })
            refresh()
          }}
        />
      )}
    </>
  )
}

function AddGateway(props: { onAdded: (name: string, mqtt: Login) => void }) {
  const [name, setName] = useState('')
  const add = useMutation({
    mutationFn: () => ok(api.POST('/api/v1/gateways', { body: { name } })),
    onSuccess: (created) => {
      setName('')
      props.onAdded(created.name, created.mqtt)
    },
  })
  const submit = (event: FormEvent) => {
    event.preventDefault()
    add.mutate()
  }
  return (
    <>
      <h2>Add a gateway</h2>
      <form className="row card" onSubmit={submit} aria-label="Add a gateway">
        <InputField label="Gateway name" required maxLength={100} value={name} onValue={setName} />
        <button type="submit" disabled={add.isPending}>
          Add gateway
        </button>
      </form>
      <ErrorNotice error={add.error} />
    </>
  )
}

/** The broker login of a gateway, shown once, with the command that starts a Latchkey gateway with it. */
function GatewayLogin(props: { name: string; mqtt: Login; rotated: boolean }) {
  const { mqtt } = props
  const command = [
    'latchkey sim',
    `--server ${window.location.origin}`,
    `--gateway-id ${mqtt.username}`,
    `--gateway-token ${mqtt.password}`,
    ...(mqtt.url === null ? [] : [`--mqtt-url ${mqtt.url}`]),
  ].join(' ')
  return (
    <Notice tone="ok">
      <p>
        {props.rotated ? `${props.name} has a new token.` : `${props.name} was added.`} Give the gateway this
        login: the token is shown only now.
      </p>
      <dl className="facts">
        <dt>Broker</dt>
        <dd>{mqtt.url ?? 'this server runs without a broker'}</dd>
        <dt>Gateway id</dt>
        <dd>
          <code>{mqtt.username}</code>
        </dd>
        <dt>Token</dt>
        <dd>
          <code data-testid="gateway-token">{mqtt.password}</code>
        </dd>
      </dl>
      <Field label="Start a Latchkey gateway with">
        {(id) => <input id={id} readOnly value={command} onFocus={(e) => e.target.select()} />}
      </Field>
    </Notice>
  )
}
