/**
 * The dataset of `bench/scale.bench.ts`, generated into a PostgreSQL database of its own: one large
 * organization (LOCKS locks over GATEWAYS gateways, CODES_PER_LOCK codes per lock, EVENTS_PER_LOCK
 * events per lock over DAYS days) and a few small ones, so that every tenant filter has rows to leave out.
 *
 * Rows that hold secrets are made here as the server makes them: each lock's secret and each code's PIN
 * encrypted with the bench's master key (AAD `lock:<id>`, `access_code:<id>`), the PIN's look-up hash,
 * and each lock's `lock_sync.reported` with the table digests of the codes it holds (a server that ran
 * for a while knows them). Those go in by batches of `unnest` arrays; the events, which hold no secret,
 * are made in SQL by `generate_series` (the events' indexes dropped meanwhile and built again after, the
 * foreign-key triggers off: the rows are consistent by construction).
 *
 * A table `bench_scale_marker` keeps the parameters and the migration level the data was made with;
 * `bench_lock` and `bench_code` number the locks and codes so the bench can pick them at random.
 */
import { randomUUID } from 'node:crypto'
import type { AccessRule } from '@latchkey/core'
import type { Secrets } from '@latchkey/server'
import type pg from 'pg'
import { tableDigester } from '../packages/server/src/reconciler/digest.ts'

export interface ScaleParams {
  locks: number
  gateways: number
  codesPerLock: number
  eventsPerLock: number
  days: number
  /** Further organizations, each with `otherLocks` locks (same codes and events per lock). */
  others: number
  otherLocks: number
}

export const DEFAULT_PARAMS: ScaleParams = {
  locks: 100_000,
  gateways: 2_000,
  codesPerLock: 10,
  eventsPerLock: 100,
  days: 90,
  others: 3,
  otherLocks: 1_000,
}

const DAY = 86_400_000
const HOUR = 3_600_000
const BATCH = 10_000
const ZONES = ['Europe/Berlin', 'Europe/London', 'America/New_York', 'Asia/Tokyo']

/** A small deterministic PRNG (mulberry32): the same parameters give the same mix. */
function prng(seed: number) {
  let a = seed >>> 0
  return () => {
    a = (a + 0x6d2b79f5) >>> 0
    let t = a
    t = Math.imul(t ^ (t >>> 15), t | 1)
    t ^= t + Math.imul(t ^ (t >>> 7), t | 61)
    return ((t ^ (t >>> 14)) >>> 0) / 4294967296
  }
}

export interface Generated {
  /** The large organization and its owner's login. */
  organizationId: string
  /** Wall time of each step, ms. */
  steps: { name: string; ms: number }[]
}

interface OrgShape {
  organizationId: string
  locks: number
  gateways: number
  /** Offset of the org's first lock in bench_lock / bench_code numbering. */
  lockBase: number
}

async function timed<T>(steps: Generated['steps'], name: string, fn: () => Promise<T>): Promise<T> {
  const started = performance.now()
  const result = await fn()
  steps.push({ name, ms: performance.now() - started })
  return result
}

/**
 * Fills a freshly migrated database that holds one organization (`organizationId`, made by sign-up)
 * with the dataset of `params`, its time anchored at `nowMs`.
 */
export async function generate(
  client: pg.Client,
  secrets: Secrets,
  organizationId: string,
  ownerId: string,
  params: ScaleParams,
  nowMs: number,
  log: (line: string) => void,
): Promise<Generated> {
  const steps: Generated['steps'] = []
  const digest = tableDigester(secrets.deriveKey('lock-table-digest'))
  await client.query(`set synchronous_commit = off`)
  await client.query(`set maintenance_work_mem = '512MB'`)
  await client.query(`set session_replication_role = replica`)
  await client.query(`create table bench_lock (n int primary key, id uuid not null, org uuid not null)`)
  await client.query(
    `create table bench_code (n int primary key, id uuid not null, lock_n int not null, k int not null)`,
  )

  const orgs: OrgShape[] = [{ organizationId, locks: params.locks, gateways: params.gateways, lockBase: 0 }]
  for (let i = 0; i < params.others; i++) {
    const id = randomUUID()
    await client.query(
      `insert into organizations (id, name, created_at) values ($1, $2, to_timestamp($3 / 1000.0))`,
      [id, `Other ${i + 1}`, nowMs - params.days * DAY],
    )
    orgs.push({
      organizationId: id,
      locks: params.otherLocks,
      gateways: Math.max(1, Math.round((params.otherLocks * params.gateways) / params.locks)),
      lockBase: params.locks + i * params.otherLocks,
    })
  }

  const t0 = nowMs - params.days * DAY
  await timed(steps, 'gateways', async () => {
    for (const org of orgs)
      await client.query(
        `insert into gateways (id, organization_id, name, token_hash, online, created_at)
         select gen_random_uuid(), $1::uuid, 'Gateway ' || g, md5($1::text || ':' || g), false, to_timestamp($2 / 1000.0)
         from generate_series(1, $3) g`,
        [org.organizationId, t0, org.gateways],
      )
  })

  await timed(steps, 'locks (secrets encrypted)', async () => {
    for (const org of orgs) {
      const gw = await client.query<{ id: string }>(
        `select id from gateways where organization_id = $1 order by name`,
        [org.organizationId],
      )
      const gatewayIds = gw.rows.map((r) => r.id)
      for (let from = 0; from < org.locks; from += BATCH) {
        const n: number[] = []
        const ids: string[] = []
        const gws: string[] = []
        const zones: string[] = []
        const secretsEnc: string[] = []
        for (let i = from; i < Math.min(org.locks, from + BATCH); i++) {
          const id = randomUUID()
          n.push(org.lockBase + i)
          ids.push(id)
          gws.push(gatewayIds[i % gatewayIds.length]!)
          zones.push(ZONES[i % ZONES.length]!)
          secretsEnc.push(secrets.encrypt(Buffer.from(randomUUID().replaceAll('-', ''), 'hex'), `lock:${id}`))
        }
        await client.query(
          `with v as (select * from unnest($2::int[], $3::uuid[], $4::uuid[], $5::text[], $6::text[])
                        as v(n, id, gateway_id, timezone, secret))
           , l as (insert into locks (id, organization_id, gateway_id, name, timezone, model, capacity,
                     ledger_capacity, event_capacity, secret_encrypted, last_event_seq_acked, clock_set,
                     created_at, updated_at)
                   select id, $1, gateway_id, 'Door ' || (n + 1), timezone, 'LK-100', 250, 64, 500, secret,
                     $7, true, to_timestamp($8 / 1000.0), to_timestamp($8 / 1000.0) from v)
           insert into bench_lock (n, id, org) select n, id, $1 from v`,
          [org.organizationId, n, ids, gws, zones, secretsEnc, params.eventsPerLock, t0],
        )
      }
    }
  })

  const lockIds = new Map<number, string>()
  for (const row of (await client.query<{ n: number; id: string }>(`select n, id from bench_lock`)).rows)
    lockIds.set(row.n, row.id)

  await timed(steps, 'access codes (PINs encrypted) and lock tables', async () => {
    for (const org of orgs) {
      const random = prng(org.lockBase + 1)
      const codes = org.locks * params.codesPerLock
      /** lock n → its table as the lock reported it (codes it holds). */
      const reported = new Map<number, Record<string, { d: string; u: number }>>()
      let done = 0
      for (let from = 0; from < codes; from += BATCH) {
        const cols = {
          n: [] as number[],
          id: [] as string[],
          lockId: [] as string[],
          lockN: [] as number[],
          k: [] as number[],
          name: [] as string[],
          kind: [] as string[],
          delivery: [] as string[],
          pinEncrypted: [] as string[],
          pinHash: [] as string[],
          startsAt: [] as (number | null)[],
          endsAt: [] as (number | null)[],
          maxUses: [] as (number | null)[],
          uses: [] as number[],
          status: [] as string[],
          errors: [] as string[],
          warnings: [] as string[],
          offlineH: [] as (number | null)[],
          setOnLockAt: [] as (number | null)[],
          pendingSince: [] as (number | null)[],
          nextActionAt: [] as (number | null)[],
          createdAt: [] as number[],
          deletedAt: [] as (number | null)[],
        }
        for (let c = from; c < Math.min(codes, from + BATCH); c++) {
          // code c is the (c / locks)-th code of lock c % locks: a lock's codes spread over the days
          const lockN = org.lockBase + (c % org.locks)
          const k = Math.floor(c / org.locks)
          const id = randomUUID()
          const createdAt = Math.floor(t0 + (c / codes) * (params.days * DAY - HOUR))
          const pin = String(Math.floor(random() * 1e6)).padStart(6, '0')
          const roll = random()
          const kindRoll = random()
          let kind = kindRoll < 0.7 ? 'permanent' : kindRoll < 0.95 ? 'timed' : 'one_time'
          let delivery = 'synced'
          let startsAt: number | null = null
          let endsAt: number | null = null
          let status = 'set'
          let errors: { code: string; message: string }[] = []
          let warnings: { code: string; message: string }[] = []
          let offlineH: number | null = null
          let setOnLockAt: number | null = createdAt + 5_000
          let pendingSince: number | null = null
          let nextActionAt: number | null = null
          let deletedAt: number | null = null
          let onLock = true
          if (kind === 'timed') {
            startsAt = createdAt
            endsAt = nowMs + Math.floor(1 + random() * 60) * DAY
            nextActionAt = endsAt
          }
          if (roll < 0.8) {
            // set on the lock
          } else if (roll < 0.83) {
            status = 'failed'
            onLock = false
            setOnLockAt = null
            errors =
              random() < 0.5
                ? [{ code: 'failed_to_set', message: 'the lock did not confirm the code after 5 attempts' }]
                : [{ code: 'lock_full', message: 'every slot of the lock is taken' }]
          } else if (roll < 0.85) {
            status = 'setting'
            onLock = false
            setOnLockAt = null
            pendingSince = nowMs - Math.floor(random() * 2 * HOUR)
            warnings =
              pendingSince < nowMs - 10 * 60_000
                ? [{ code: 'delay_in_setting_on_lock', message: 'waiting for the lock' }]
                : []
          } else if (roll < 0.86) {
            status = 'removing'
            deletedAt = nowMs - Math.floor(random() * HOUR)
            pendingSince = deletedAt
          } else if (roll < 0.96) {
            status = 'removed'
            onLock = false
            deletedAt = createdAt + Math.floor(random() * 10 * DAY)
            if (deletedAt > nowMs) deletedAt = nowMs - HOUR
          } else if (roll < 0.98) {
            kind = 'timed'
            status = 'scheduled'
            onLock = false
            setOnLockAt = null
            startsAt = nowMs + Math.floor(2 + random() * 30) * DAY
            endsAt = startsAt + 3 * DAY
            nextActionAt = startsAt - 24 * HOUR
          } else {
            kind = 'permanent'
            delivery = 'offline'
            status = 'issued'
            onLock = false
            setOnLockAt = null
            offlineH = Math.floor(random() * 64)
            nextActionAt = null
          }
          const maxUses: number | null = null
          const uses = onLock ? Math.floor(random() * 20) : 0
          cols.n.push(org.lockBase * params.codesPerLock + c)
          cols.id.push(id)
          cols.lockId.push(lockIds.get(lockN)!)
          cols.lockN.push(lockN)
          cols.k.push(k)
          cols.name.push(`Guest ${k + 1} of door ${(c % org.locks) + 1}`)
          cols.kind.push(kind)
          cols.delivery.push(delivery)
          cols.pinEncrypted.push(secrets.encrypt(pin, `access_code:${id}`))
          cols.pinHash.push(secrets.lookupHash('pin', pin))
          cols.startsAt.push(startsAt)
          cols.endsAt.push(endsAt)
          cols.maxUses.push(maxUses)
          cols.uses.push(kind === 'one_time' ? Math.min(uses, 1) : uses)
          cols.status.push(status)
          cols.errors.push(JSON.stringify(errors))
          cols.warnings.push(JSON.stringify(warnings))
          cols.offlineH.push(offlineH)
          cols.setOnLockAt.push(setOnLockAt)
          cols.pendingSince.push(pendingSince)
          cols.nextActionAt.push(nextActionAt)
          cols.createdAt.push(createdAt)
          cols.deletedAt.push(deletedAt)
          if (onLock && delivery === 'synced') {
            const rule: AccessRule = { kind: kind as AccessRule['kind'] }
            if (startsAt !== null) rule.startsAt = startsAt
            if (endsAt !== null) rule.endsAt = endsAt
            let table = reported.get(lockN)
            if (table === undefined) {
              table = {}
              reported.set(lockN, table)
            }
            table[id] = { d: digest(pin, rule), u: cols.uses[cols.uses.length - 1]! }
          }
        }
        await client.query(
          `with v as (select * from unnest($2::int[], $3::uuid[], $4::uuid[], $5::int[], $6::int[], $7::text[],
              $8::text[], $9::text[], $10::text[], $11::text[], $12::float8[], $13::float8[], $14::int[],
              $15::int[], $16::text[], $17::text[], $18::text[], $19::int[], $20::float8[], $21::float8[],
              $22::float8[], $23::float8[], $24::float8[])
              as v(n, id, lock_id, lock_n, k, name, kind, delivery, pin_encrypted, pin_hash, starts_at,
                   ends_at, max_uses, uses, status, errors, warnings, offline_h, set_on_lock_at,
                   pending_since, next_action_at, created_at, deleted_at))
           , c as (insert into access_codes (id, organization_id, lock_id, name, kind, delivery, pin_encrypted,
                pin_hash, starts_at, ends_at, max_uses, uses, status, errors, warnings, offline_h,
                offline_first_use_by, set_on_lock_at, pending_since, next_action_at, created_by, created_at,
                updated_at, deleted_at)
              select id, $1, lock_id, name, kind, delivery, pin_encrypted, pin_hash,
                to_timestamp(starts_at / 1000), to_timestamp(ends_at / 1000), max_uses, uses, status,
                errors::jsonb, warnings::jsonb, offline_h,
                case when offline_h is null then null else to_timestamp(created_at / 1000) + interval '30 days' end,
                to_timestamp(set_on_lock_at / 1000), to_timestamp(pending_since / 1000),
                to_timestamp(next_action_at / 1000), $25, to_timestamp(created_at / 1000),
                to_timestamp(coalesce(deleted_at, created_at) / 1000), to_timestamp(deleted_at / 1000)
              from v)
           insert into bench_code (n, id, lock_n, k) select n, id, lock_n, k from v`,
          [
            org.organizationId,
            cols.n,
            cols.id,
            cols.lockId,
            cols.lockN,
            cols.k,
            cols.name,
            cols.kind,
            cols.delivery,
            cols.pinEncrypted,
            cols.pinHash,
            cols.startsAt,
            cols.endsAt,
            cols.maxUses,
            cols.uses,
            cols.status,
            cols.errors,
            cols.warnings,
            cols.offlineH,
            cols.setOnLockAt,
            cols.pendingSince,
            cols.nextActionAt,
            cols.createdAt,
            cols.deletedAt,
            org.organizationId === organizationId ? ownerId : null,
          ],
        )
        done += cols.n.length
        if (done % 200_000 === 0) log(`  ${done.toLocaleString('en-US')} codes`)
      }
      // every lock reported its table a few hours ago; the next refresh is due 6 h after that
      for (let from = 0; from < org.locks; from += BATCH) {
        const ids: string[] = []
        const tables: string[] = []
        const at: number[] = []
        for (let i = from; i < Math.min(org.locks, from + BATCH); i++) {
          const n = org.lockBase + i
          ids.push(lockIds.get(n)!)
          tables.push(JSON.stringify(reported.get(n) ?? {}))
          at.push(nowMs - Math.floor(random() * 6 * HOUR))
        }
        await client.query(
          `insert into lock_sync (lock_id, organization_id, reported, reported_at, stale, revocations, due_at, updated_at)
           select id, $1, reported::jsonb, to_timestamp(at / 1000), false, '[]'::jsonb,
             to_timestamp(at / 1000) + interval '6 hours', to_timestamp(at / 1000)
           from unnest($2::uuid[], $3::text[], $4::float8[]) as v(id, reported, at)`,
          [org.organizationId, ids, tables, at],
        )
        await client.query(
          `update locks set codes_on_lock = jsonb_object_length_count.n
           from (select lock_id, (select count(*) from jsonb_object_keys(reported)) as n
                 from lock_sync where lock_id = any($1::uuid[])) as jsonb_object_length_count
           where locks.id = jsonb_object_length_count.lock_id`,
          [ids],
        )
      }
    }
  })

  const eventIndexes = (
    await client.query<{ indexname: string; indexdef: string }>(
      `select indexname, indexdef from pg_indexes where tablename = 'events' and indexname <> 'events_pkey'`,
    )
  ).rows
  await timed(steps, `events (${eventIndexes.length} indexes dropped meanwhile)`, async () => {
    for (const index of eventIndexes) await client.query(`drop index ${index.indexname}`)
    for (const org of orgs) {
      const total = org.locks * params.eventsPerLock
      const chunk = 1_000_000
      for (let from = 0; from < total; from += chunk) {
        // event e is the (e / locks)-th event of lock e % locks, in time order; a lock event of one of
        // the lock's codes (its lock_seq), a denial, or an event of a code recorded by the server
        await client.query(
          `insert into events (organization_id, lock_id, type, access_code_id, actor_user_id, data,
             occurred_at, recorded_at, lock_seq)
           select $1, l.id,
             case when h < 80 then 'lock.unlocked' when h < 90 then 'lock.access_denied'
                  when h < 96 then 'access_code.set_on_lock' else 'access_code.created' end,
             case when h < 80 or h >= 90 then c.id end,
             case when h >= 96 then $5::uuid end,
             case when h < 80 then jsonb_build_object('method', 'keypad', 'label', 'Guest ' || (c.k + 1))
                  when h < 90 then jsonb_build_object('reason', 'unknown_code')
                  else jsonb_build_object('label', 'Guest ' || (c.k + 1)) end,
             t, t + interval '2 seconds',
             case when h < 90 then e / $2::bigint + 1 end
           from (select e, (e * 2654435761::bigint) % 100 as h,
                        to_timestamp(($3::float8 + (e::float8 / $4::float8) * $6::float8) / 1000) as t
                 from generate_series($7::bigint, $8::bigint) e) s
           join bench_lock l on l.n = $9::bigint + (e % $2::bigint)::int
           join bench_code c on c.n = ($9::bigint * $10::bigint) + (e % $2::bigint)::int + $2::bigint * ((e / $2::bigint) % $10::bigint)::int`,
          [
            org.organizationId,
            org.locks,
            t0,
            total,
            ownerId,
            params.days * DAY - HOUR,
            from,
            Math.min(total, from + chunk) - 1,
            org.lockBase,
            params.codesPerLock,
          ],
        )
        log(
          `  ${Math.min(total, from + chunk).toLocaleString('en-US')} events of ${org.organizationId.slice(0, 8)}`,
        )
      }
    }
  })
  await timed(steps, 'events indexes built', async () => {
    for (const index of eventIndexes) await client.query(index.indexdef)
  })
  await client.query(`set session_replication_role = origin`)
  await timed(steps, 'vacuum analyze', async () => {
    await client.query(`vacuum analyze`)
  })
  return { organizationId, steps }
}
