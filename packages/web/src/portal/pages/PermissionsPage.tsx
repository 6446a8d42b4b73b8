import { useMutation, useQuery, useQueryClient } from '@tanstack/react-query'
import { ok, type Permission } from '../../api/client.ts'
import { ErrorNotice } from '../../ui/kit.tsx'
import { formatLocalWindow, formatSchedule } from '../../wall-clock.ts'
import { LEVEL_WORDS } from '../../words.ts'
import { api } from '../api.ts'

export function PermissionsPage() {
  const permissions = useQuery({
    queryKey: ['permissions'],
    queryFn: () => ok(api.GET('/api/v1/permissions')),
  })
  return (
    <>
      <h1>Permissions</h1>
      <ErrorNotice error={permissions.error} />
      <div className="table-wrap">
        <table aria-label="Permissions">
          <thead>
            <tr>
              <th scope="col">Lock</th>
              <th scope="col">Shared with</th>
              <th scope="col">Level</th>
              <th scope="col">When</th>
              <th scope="col">Status</th>
              <th scope="col">
                <span className="visually-hidden">Actions</span>
              </th>
            </tr>
          </thead>
          <tbody>
            {(permissions.data?.items ?? []).map((p) => (
              <PermissionRow key={p.id} permission={p} />
            ))}
          </tbody>
        </table>
      </div>
      {permissions.isSuccess && permissions.data.items.length === 0 && (
        <p className="muted">Nothing is shared yet.</p>
      )}
    </>
  )
}

function PermissionRow(props: { permission: Permission }) {
  const client = useQueryClient()
  const p = props.permission
  const revoke = useMutation({
    mutationFn: () => ok(api.DELETE('/api/v1/permissions/{id}', { params: { path: { id: p.id } } })),
    onSuccess: () => client.invalidateQueries({ queryKey: ['permissions'] }),
  })
  const who = p.grantee.type === 'unique_code' ? `Unique code “${p.grantee.description}”` : p.grantee.email
  return (
    <tr>
      <td>{p.lockName}</td>
      <td>{who}</td>
      <td>{LEVEL_WORDS[p.level]}</td>
      <td>
        {p.schedule
          ? formatSchedule(p.schedule)
          : formatLocalWindow(p.startsAtLocal, p.endsAtLocal) || 'Any time'}
      </td>
      <td>{p.status === 'active' ? 'Active' : p.status === 'used' ? 'Used' : 'Expired'}</td>
      <td>
        <button
          type="button"
          className="danger"
          aria-label={`Revoke ${p.lockName} for ${who}`}
          onClick={() => revoke.mutate()}
        >
          Revoke
        </button>
        <ErrorNotice error={revoke.error} />
      </td>
    </tr>
  )
}
