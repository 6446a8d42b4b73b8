import { formatTime } from '../../time.ts'
import { ErrorNotice } from '../../ui/kit.tsx'
import { useGateways } from './LocksPage.tsx'

export function GatewaysPage() {
  const gateways = useGateways()
  const zone = Intl.DateTimeFormat().resolvedOptions().timeZone
  return (
    <>
      <h1>Gateways</h1>
      <ErrorNotice error={gateways.error} />
      <table aria-label="Gateways">
        <thead>
          <tr>
            <th scope="col">Gateway</th>
            <th scope="col">Status</th>
            <th scope="col">Locks</th>
            <th scope="col">Last seen</th>
          </tr>
        </thead>
        <tbody>
          {(gateways.data?.items ?? []).map((g) => (
            <tr key={g.id}>
              <td>{g.name}</td>
              <td className={g.online ? 'ok' : 'bad'}>{g.online ? 'Online' : 'Offline'}</td>
              <td>{g.lockCount}</td>
              <td>{formatTime(g.lastSeenAt, zone)}</td>
            </tr>
          ))}
        </tbody>
      </table>
    </>
  )
}
