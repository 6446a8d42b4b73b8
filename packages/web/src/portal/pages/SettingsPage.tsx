import { useMutation, useQuery, useQueryClient } from '@tanstack/react-query'
import { type FormEvent, useEffect, useState } from 'react'
import { ok } from '../../api/client.ts'
import { ErrorNotice, Notice } from '../../ui/kit.tsx'
import { api } from '../api.ts'

export function SettingsPage() {
  const client = useQueryClient()
  const settings = useQuery({
    queryKey: ['settings'],
    queryFn: () => ok(api.GET('/api/v1/organization/settings')),
  })
  const [enabled, setEnabled] = useState(false)
  useEffect(() => {
    if (settings.data) setEnabled(settings.data.uniqueCodesEnabled)
  }, [settings.data])
  const save = useMutation({
    mutationFn: () =>
      ok(api.PATCH('/api/v1/organization/settings', { body: { uniqueCodesEnabled: enabled } })),
    onSuccess: () => client.invalidateQueries({ queryKey: ['settings'] }),
  })
  const submit = (event: FormEvent) => {
    event.preventDefault()
    save.mutate()
  }
  return (
    <>
      <h1>Settings</h1>
      <div className="tabs" role="tablist" aria-label="Settings">
        <button type="button" role="tab" id="tab-system" aria-selected="true" aria-controls="panel-system">
          System
        </button>
      </div>
      <form id="panel-system" role="tabpanel" aria-labelledby="tab-system" className="card" onSubmit={submit}>
        <label className="check">
          <input type="checkbox" checked={enabled} onChange={(e) => setEnabled(e.target.checked)} />
          Enable Unique Codes
        </label>
        <p className="muted">
          Unique codes give someone without an account access to shared locks through Code Login.
        </p>
        <ErrorNotice error={settings.error ?? save.error} />
        {save.isSuccess && <Notice tone="ok">Changes saved.</Notice>}
        <button type="submit" disabled={save.isPending || settings.data === undefined}>
          Save Changes
        </button>
      </form>
    </>
  )
}
