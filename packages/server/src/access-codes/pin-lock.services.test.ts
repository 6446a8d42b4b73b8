/**
 * Several requests asking for the same PIN on one lock at once, on the real PostgreSQL (a pool of
 * connections, so the requests truly run side by side): exactly one gets it.
 */
import { afterAll, beforeAll, describe, expect, it } from 'vitest'
import { addLock, createCode, type Fixture, setup } from '../reconciler/test-setup.ts'
import { usingTestServices } from '../testing.ts'

describe.skipIf(!usingTestServices())('one PIN asked for at once', () => {
  let f: Fixture
  beforeAll(async () => {
    f = await setup({}, { services: true })
  })
  afterAll(() => f?.close())

  it('is given to one new code only; the others are refused duplicate_code_on_lock', async () => {
    const lock = await addLock(f, { name: 'Cellar' })
    const answers = await Promise.all(
      ['Cleaner', 'Gardener', 'Plumber', 'Painter', 'Electrician', 'Tiler'].map((name) =>
        createCode(f, lock.id, { name, kind: 'permanent', code: '604182' }),
      ),
    )
    expect(answers.map((a) => a.statusCode).sort()).toEqual([201, 409, 409, 409, 409, 409])
    expect(answers.find((a) => a.statusCode === 409)!.json().code).toBe('duplicate_code_on_lock')
  })

  it('is given to one changed code only', async () => {
    const lock = await addLock(f, { name: 'Loft' })
    const ids = await Promise.all(
      ['Window cleaner', 'Dog walker', 'Carer', 'Courier'].map(
        async (name) => (await createCode(f, lock.id, { name, kind: 'permanent' })).json().id as string,
      ),
    )
    const changed = await Promise.all(
      ids.map((id) =>
        f.app.inject({
          method: 'PATCH',
          url: `/api/v1/access-codes/${id}`,
          headers: f.owner.headers,
          payload: { code: '593017' },
        }),
      ),
    )
    expect(changed.map((c) => c.statusCode).sort()).toEqual([200, 409, 409, 409])
  })
})
