/**
 * The server's tables (drizzle). Changing this file means a new migration:
 * `npm run db:generate -w @latchkey/server` writes it into packages/server/drizzle/.
 *
 * Conventions:
 * - ids are UUIDs; every tenant-owned row carries `organization_id` and every query filters on it.
 * - times are `timestamptz` written by the application from its Clock (never `now()` in SQL), so
 *   simulated time in demos and tests stays consistent.
 * - states and kinds are `text` typed in TypeScript (adding a state needs no migration).
 * - nothing newer than PostgreSQL 15.
 */
import type { AccessCodeKind, GranteeType, PermissionLevel, WeeklySchedule } from '@latchkey/core'
import { sql } from 'drizzle-orm'
import {
  bigint,
  bigserial,
  boolean,
  customType,
  index,
  integer,
  jsonb,
  pgTable,
  primaryKey,
  text,
  timestamp,
  uniqueIndex,
  uuid,
} from 'drizzle-orm/pg-core'

const at = (name: string) => timestamp(name, { withTimezone: true, mode: 'date' })
/** A 64-bit transaction id (PostgreSQL 13+), read as its decimal text. */
const xid8 = customType<{ data: string; driverData: string }>({ dataType: () => 'xid8' })
const id = () => uuid('id').primaryKey().defaultRandom()
const organizationId = () =>
  uuid('organization_id')
    .notNull()
    .references(() => organizations.id, { onDelete: 'cascade' })

// ---------------------------------------------------------------- accounts

export interface OrganizationSettings {
  /** Unique codes (SPEC §4) may be created only when this is on. */
  uniqueCodesEnabled: boolean
  /** Just-in-time programming: a synced timed/recurring code goes onto the lock this long before it starts. */
  syncLeadHours: number
}

export const DEFAULT_ORGANIZATION_SETTINGS: OrganizationSettings = {
  uniqueCodesEnabled: false,
  syncLeadHours: 24,
}

export const organizations = pgTable('organizations', {
  id: id(),
  name: text('name').notNull(),
  /** Partial: missing keys take DEFAULT_ORGANIZATION_SETTINGS (so a new setting needs no data migration). */
  settings: jsonb('settings')
    .$type<Partial<OrganizationSettings>>()
    .notNull()
    .default(sql`'{"uniqueCodesEnabled":false}'::jsonb`),
  createdAt: at('created_at').notNull(),
})

export const users = pgTable(
  'users',
  {
    id: id(),
    /** Stored trimmed and lower-cased. */
    email: text('email').notNull(),
    name: text('name'),
    /** argon2id (PHC string). */
    passwordHash: text('password_hash').notNull(),
    createdAt: at('created_at').notNull(),
  },
  (t) => [uniqueIndex('users_email_key').on(t.email)],
)

export const ROLES = ['owner', 'admin', 'member'] as const
export type Role = (typeof ROLES)[number]

export const memberships = pgTable(
  'memberships',
  {
    organizationId: organizationId(),
    userId: uuid('user_id')
      .notNull()
      .references(() => users.id, { onDelete: 'cascade' }),
    role: text('role').$type<Role>().notNull(),
    createdAt: at('created_at').notNull(),
  },
  (t) => [primaryKey({ columns: [t.organizationId, t.userId] }), index('memberships_user_idx').on(t.userId)],
)

/**
 * Invitations to join an organization with a role (the only way in besides sign-up). The token is
 * shown once, in the link; only its SHA-256 is kept. Used once (the row goes when it is accepted),
 * valid until `expires_at`; one pending invitation per e-mail and organization.
 */
export const invitations = pgTable(
  'invitations',
  {
    id: id(),
    organizationId: organizationId(),
    /** Stored trimmed and lower-cased. */
    email: text('email').notNull(),
    role: text('role').$type<Role>().notNull(),
    tokenHash: text('token_hash').notNull(),
    invitedBy: uuid('invited_by').references(() => users.id, { onDelete: 'set null' }),
    createdAt: at('created_at').notNull(),
    expiresAt: at('expires_at').notNull(),
  },
  (t) => [
    uniqueIndex('invitations_token_hash_key').on(t.tokenHash),
    uniqueIndex('invitations_org_email_key').on(t.organizationId, t.email),
  ],
)

/** Portal and API sessions of users. The token itself is never stored, only its SHA-256. */
export const sessions = pgTable(
  'sessions',
  {
    id: id(),
    tokenHash: text('token_hash').notNull(),
    userId: uuid('user_id')
      .notNull()
      .references(() => users.id, { onDelete: 'cascade' }),
    organizationId: organizationId(),
    createdAt: at('created_at').notNull(),
    expiresAt: at('expires_at').notNull(),
  },
  (t) => [uniqueIndex('sessions_token_hash_key').on(t.tokenHash), index('sessions_user_idx').on(t.userId)],
)

/** API keys of an organization; a key acts with the current role of the user who created it. */
export const apiKeys = pgTable(
  'api_keys',
  {
    id: id(),
    organizationId: organizationId(),
    createdBy: uuid('created_by')
      .notNull()
      .references(() => users.id, { onDelete: 'cascade' }),
    name: text('name').notNull(),
    /** The first characters of the key, shown in lists so a user can tell keys apart. */
    prefix: text('prefix').notNull(),
    keyHash: text('key_hash').notNull(),
    createdAt: at('created_at').notNull(),
    lastUsedAt: at('last_used_at'),
  },
  (t) => [uniqueIndex('api_keys_key_hash_key').on(t.keyHash), index('api_keys_org_idx').on(t.organizationId)],
)

/**
 * Login attempts still counting against the throttle (failed ones, and ones in flight).
 * Kept in the store so the throttle holds across several server processes.
 */
export const loginAttempts = pgTable(
  'login_attempts',
  {
    id: bigserial('id', { mode: 'number' }).primaryKey(),
    /** What is throttled: 'email' (lower-cased address) or 'address' (client IP), or later e.g. 'device'. */
    scope: text('scope').notNull(),
    key: text('key').notNull(),
    at: at('at').notNull(),
  },
  (t) => [
    index('login_attempts_scope_key_at_idx').on(t.scope, t.key, t.at),
    index('login_attempts_at_idx').on(t.at),
  ],
)

// ---------------------------------------------------------------- devices

export const gateways = pgTable(
  'gateways',
  {
    id: id(),
    organizationId: organizationId(),
    name: text('name').notNull(),
    /** SHA-256 of the MQTT token (shown once at registration). */
    tokenHash: text('token_hash').notNull(),
    online: boolean('online').notNull().default(false),
    /** The connection (session) of the last status taken: an older connection's status is ignored. */
    statusSession: bigint('status_session', { mode: 'number' }).notNull().default(0),
    lastSeenAt: at('last_seen_at'),
    createdAt: at('created_at').notNull(),
    deletedAt: at('deleted_at'),
  },
  (t) => [
    index('gateways_org_idx').on(t.organizationId),
    uniqueIndex('gateways_token_hash_key').on(t.tokenHash),
  ],
)

export const locks = pgTable(
  'locks',
  {
    id: id(),
    organizationId: organizationId(),
    gatewayId: uuid('gateway_id').references(() => gateways.id, { onDelete: 'set null' }),
    name: text('name').notNull(),
    /** IANA zone; schedules are in the lock's local time. */
    timezone: text('timezone').notNull(),
    model: text('model').notNull(),
    /** Synced-code slots of the model. */
    capacity: integer('capacity').notNull(),
    ledgerCapacity: integer('ledger_capacity').notNull(),
    eventCapacity: integer('event_capacity').notNull(),
    /** The lock's 256-bit secret, encrypted at rest (Secrets.encrypt, AAD = `lock:<id>`). */
    secretEncrypted: text('secret_encrypted').notNull(),
    /**
     * The highest command counter reserved for this lock (server processes take blocks of counters
     * ahead, committed before any frame of the block is sealed; devices/command-counters.ts).
     */
    commandCounter: bigint('command_counter', { mode: 'number' }).notNull().default(0),
    /** The highest command counter sealed and published to this lock (keeps frames in counter order). */
    commandSentCounter: bigint('command_sent_counter', { mode: 'number' }).notNull().default(0),
    /** Counter of the last authenticated frame received from the lock (replays at or below it are refused). */
    lastReceivedCounter: bigint('last_received_counter', { mode: 'number' }).notNull().default(0),
    /**
     * Which of the RECEIVE_WINDOW counters below `last_received_counter` were accepted too (bit i: the
     * counter last − 1 − i). Several server processes receive a lock's frames out of order; a frame in the
     * window that was not seen yet is taken, a replay never.
     */
    receivedWindow: bigint('received_window', { mode: 'number' }).notNull().default(0),
    /** Reachable now: in range of its gateway (`inRange`) while that gateway is online. */
    online: boolean('online').notNull().default(false),
    /** The radio link its gateway last reported (`lockLink`), and that report's time (gateway's clock). */
    inRange: boolean('in_range').notNull().default(false),
    linkAt: bigint('link_at', { mode: 'number' }).notNull().default(0),
    /** Percent, as last reported. */
    battery: integer('battery'),
    lastSeenAt: at('last_seen_at'),
    /** Lock clock minus server clock at the last sync, in ms; null until the lock reported a clock. */
    clockOffsetMs: bigint('clock_offset_ms', { mode: 'number' }),
    clockSyncedAt: at('clock_synced_at'),
    /** Whether the lock's clock is set (false after power loss until synced). */
    clockSet: boolean('clock_set').notNull().default(false),
    /** Highest event `seq` stored and acknowledged to the lock. */
    lastEventSeqAcked: bigint('last_event_seq_acked', { mode: 'number' }).notNull().default(0),
    /**
     * Revocation ids (revoked shares, deleted offline codes) left out of the lock's list at the last
     * pass because the list was full: they still open the lock until they expire. 0 normally.
     */
    revocationsLeftOut: integer('revocations_left_out').notNull().default(0),
    /** Synced codes the lock reported holding (capacity used), as of its last table report. */
    codesOnLock: integer('codes_on_lock').notNull().default(0),
    /**
     * Counter of the newest frame from the lock whose word on the lock's own state (clock set, codes
     * held) was taken: an older frame that another server process handles later does not undo it.
     */
    stateCounter: bigint('state_counter', { mode: 'number' }).notNull().default(0),
    /** Counter of the newest `set_time` reply taken (its offset and time): an older one handled later is not. */
    clockCounter: bigint('clock_counter', { mode: 'number' }).notNull().default(0),
    /**
     * How the server reaches the lock (SPEC §12): `latchkey`, sealed frames through a gateway; `matter`,
     * the server's own Matter controller over IP.
     */
    driver: text('driver').$type<LockDriverName>().notNull().default('latchkey'),
    /** A `matter` lock: its node in the controller's fabric and which Matter user holds which code. */
    matter: jsonb('matter').$type<MatterLockState>(),
    /** Row claim for work on this lock (reconciler): which process holds it, until when. */
    claimedBy: text('claimed_by'),
    claimedUntil: at('claimed_until'),
    createdAt: at('created_at').notNull(),
    updatedAt: at('updated_at').notNull(),
    deletedAt: at('deleted_at'),
  },
  (t) => [
    index('locks_org_idx').on(t.organizationId),
    index('locks_gateway_idx').on(t.gatewayId),
    // The locks in reach (reconciler followLinks, at every tick): few while gateways are offline,
    // and then found without reading every lock.
    index('locks_online_idx').on(t.id).where(sql`${t.online}`),
  ],
)

export const LOCK_DRIVERS = ['latchkey', 'matter'] as const
export type LockDriverName = (typeof LOCK_DRIVERS)[number]

/**
 * What the server keeps of a Matter lock: its node id in the controller's fabric, and per access code
 * the Matter user (index) that holds it and the set_code command it was put there with (its PIN and
 * rule, since a Matter lock never gives a PIN back).
 */
export interface MatterLockState {
  nodeId: string
  /** The controller (fabric) that commissioned it and drives it; absent on locks from before. */
  controller?: string
  users: Record<string, { userIndex: number; commandId: string }>
}

/** Who asked for a command: a user of the organization, or the holder of a unique code. */
export interface CommandRequester {
  userId?: string
  uniqueCodeId?: string
}

export const LOCK_COMMAND_STATUSES = ['pending', 'done', 'failed'] as const
export type LockCommandStatus = (typeof LOCK_COMMAND_STATUSES)[number]

/**
 * Every command sealed for a lock (devices/lock-channel.ts): what was sent with which counter, and
 * the lock's reply. A PIN never lies here in clear: `command` is stored without it (set_code's PIN is
 * in `pin_encrypted`, AAD = `lock_command:<id>`), and a read_table reply is stored without the PINs.
 */
export const lockCommands = pgTable(
  'lock_commands',
  {
    /** Also the envelope id the lock echoes in its reply. */
    id: uuid('id').primaryKey(),
    organizationId: organizationId(),
    lockId: uuid('lock_id')
      .notNull()
      .references(() => locks.id, { onDelete: 'cascade' }),
    /** The command's `type` (set_code, unlock, ...). */
    type: text('type').notNull(),
    /** The frame counter it was sealed with. */
    counter: bigint('counter', { mode: 'number' }).notNull(),
    /** The command without any PIN. */
    command: jsonb('command').$type<Record<string, unknown>>().notNull(),
    pinEncrypted: text('pin_encrypted'),
    status: text('status').$type<LockCommandStatus>().notNull(),
    /** Who asked for it (a remote unlock), so the lock's `unlocked` event names them. */
    requestedBy: jsonb('requested_by').$type<CommandRequester>(),
    /** `{status, data?}` or `{status, error}` as the lock replied (a table report without PINs). */
    reply: jsonb('reply').$type<Record<string, unknown>>(),
    sentAt: at('sent_at').notNull(),
    repliedAt: at('replied_at'),
  },
  (t) => [
    index('lock_commands_lock_sent_idx').on(t.lockId, t.sentAt),
    index('lock_commands_sent_idx').on(t.sentAt),
  ],
)

// ---------------------------------------------------------------- access codes

export const ACCESS_CODE_DELIVERIES = ['synced', 'offline'] as const
export type AccessCodeDelivery = (typeof ACCESS_CODE_DELIVERIES)[number]

export const ACCESS_CODE_STATUSES = [
  'scheduled',
  'setting',
  'set',
  'removing',
  'removed',
  'failed',
  'issued',
] as const
export type AccessCodeStatus = (typeof ACCESS_CODE_STATUSES)[number]

/** An entry of `errors` or `warnings` (SPEC §3). */
export interface CodeIssue {
  code: string
  message: string
}

export const accessCodes = pgTable(
  'access_codes',
  {
    id: id(),
    organizationId: organizationId(),
    lockId: uuid('lock_id')
      .notNull()
      .references(() => locks.id, { onDelete: 'cascade' }),
    /** The label owners audit by ("Cleaner – Tuesday"). */
    name: text('name').notNull(),
    kind: text('kind').$type<AccessCodeKind>().notNull(),
    /** Resolved delivery ('auto' is decided at creation). */
    delivery: text('delivery').$type<AccessCodeDelivery>().notNull(),
    /** The PIN, encrypted at rest (AAD = `access_code:<id>`). */
    pinEncrypted: text('pin_encrypted').notNull(),
    /** Secrets.lookupHash('pin', pin): finds a PIN on a lock (index with lock_id) without decrypting. */
    pinHash: text('pin_hash').notNull(),
    startsAt: at('starts_at'),
    endsAt: at('ends_at'),
    schedule: jsonb('schedule').$type<WeeklySchedule>(),
    maxUses: integer('max_uses'),
    /** Successful opens the lock reported. */
    uses: integer('uses').notNull().default(0),
    firstUsedAt: at('first_used_at'),
    lastUsedAt: at('last_used_at'),
    status: text('status').$type<AccessCodeStatus>().notNull(),
    errors: jsonb('errors').$type<CodeIssue[]>().notNull().default(sql`'[]'::jsonb`),
    warnings: jsonb('warnings').$type<CodeIssue[]>().notNull().default(sql`'[]'::jsonb`),
    /** Offline codes: the table index H of the scheme and the instant the first use must precede. */
    offlineH: integer('offline_h'),
    offlineFirstUseBy: at('offline_first_use_by'),
    /** When the scheduler must look at this code next (program at the lead time, remove at the end). */
    nextActionAt: at('next_action_at'),
    /** Attempts to put it on / take it off the lock since the last state change (retry with backoff). */
    attempts: integer('attempts').notNull().default(0),
    lastAttemptAt: at('last_attempt_at'),
    /** When the lock confirmed holding it. */
    setOnLockAt: at('set_on_lock_at'),
    /** Since when it waits for the lock (status setting/removing); null when it waits for nothing. */
    pendingSince: at('pending_since'),
    /** When its window ended (`access_code.expired` was recorded); null while it can still open. */
    expiredAt: at('expired_at'),
    /** The stay (properties/) this code belongs to: one code per lock of the stay's property. */
    stayId: uuid('stay_id'),
    createdBy: uuid('created_by').references(() => users.id, { onDelete: 'set null' }),
    createdAt: at('created_at').notNull(),
    updatedAt: at('updated_at').notNull(),
    deletedAt: at('deleted_at'),
  },
  (t) => [
    // The organization's codes oldest first (GET /access-codes), by status, and those with errors
    // (status=errors): a page is read from the cursor on, in the index's order.
    index('access_codes_org_created_idx').on(t.organizationId, t.createdAt, t.id),
    index('access_codes_org_status_created_idx').on(t.organizationId, t.status, t.createdAt, t.id),
    index('access_codes_org_errors_created_idx')
      .on(t.organizationId, t.createdAt, t.id)
      .where(sql`jsonb_array_length(${t.errors}) > 0`),
    index('access_codes_stay_idx').on(t.stayId).where(sql`${t.stayId} is not null`),
    index('access_codes_lock_idx').on(t.lockId),
    index('access_codes_lock_pin_idx').on(t.lockId, t.pinHash),
    index('access_codes_next_action_idx').on(t.nextActionAt).where(sql`${t.nextActionAt} is not null`),
  ],
)

/** One entry of the code table a lock reported: a keyed digest of (PIN, rule), never the PIN itself. */
export interface ReportedCode {
  /** HMAC of the PIN and the canonical rule (see reconciler/digest.ts). */
  d: string
  /** Successful opens the lock counted for it. */
  u: number
}

/**
 * A command the reconciler sent and waits to see acknowledged: per code id, and under the key
 * REVOCATIONS_KEY for the lock's revocation list.
 */
export interface PendingOp {
  op: 'set' | 'remove' | 'revocations'
  /** When it was sent (epoch ms, the server's clock). */
  at: number
  /** Attempts so far for this change (backoff grows with it). */
  attempts: number
  /**
   * The server process that sent it (`server_processes.id`), for a person looking into the lock;
   * nothing decides by it (a process's death sends again every command then in flight, processes.ts).
   */
  by?: string
}

/**
 * The reconciler's view of one lock (SPEC §5): what the lock holds as of its last report and the
 * replies since, and the commands waiting for a reply. Kept in the store so that any server process
 * can take over after a restart.
 */
export const lockSync = pgTable(
  'lock_sync',
  {
    lockId: uuid('lock_id')
      .primaryKey()
      .references(() => locks.id, { onDelete: 'cascade' }),
    organizationId: organizationId(),
    /** codeId → entry, as reported by read_table and updated by the replies to set_code/remove_code. */
    reported: jsonb('reported').$type<Record<string, ReportedCode>>().notNull().default(sql`'{}'::jsonb`),
    /** When the lock last reported its whole table; null before the first report. */
    reportedAt: at('reported_at'),
    /** The table must be read again (never read, lock came back, a reply went missing). */
    stale: boolean('stale').notNull().default(true),
    /** The revocation list the lock holds (eKey ids, `offline:<H>:<startsAt>`); null until reported. */
    revocations: jsonb('revocations').$type<string[]>(),
    /** When a read_table was last sent (waiting for its reply). */
    readRequestedAt: at('read_requested_at'),
    /** The server process that sent it (for a person looking into the lock; nothing decides by it). */
    readRequestedBy: text('read_requested_by'),
    /**
     * Counter of the lock's frame of the whole table report in `reported`: a reply to set_code or
     * remove_code from before it is already in it.
     */
    reportCounter: bigint('report_counter', { mode: 'number' }).notNull().default(0),
    /**
     * Counter of the newest frame taken into `reported` or `revocations`: a whole table report from
     * before it would undo what came after, so it is not taken (the table is read again instead).
     */
    tableCounter: bigint('table_counter', { mode: 'number' }).notNull().default(0),
    /** codeId → the command in flight for it. */
    pending: jsonb('pending').$type<Record<string, PendingOp>>().notNull().default(sql`'{}'::jsonb`),
    /** When the reconciler must look at this lock next. */
    dueAt: at('due_at').notNull(),
    updatedAt: at('updated_at').notNull(),
  },
  (t) => [
    index('lock_sync_due_idx').on(t.dueAt),
    // The tables not stale (followLinks marks those of locks out of reach stale at every tick): none
    // after a restart or while gateways are offline, and then nothing to read.
    index('lock_sync_fresh_idx').on(t.lockId).where(sql`not ${t.stale}`),
  ],
)

/**
 * The server processes working on the store, each with the last time its reconciler ticked. One that
 * has not ticked for a claim's lease has died: another process takes it off the list and sends again
 * at once what it left in flight (reconciler/processes.ts), rather than after the command timeout.
 */
export const serverProcesses = pgTable('server_processes', {
  /** As in `locks.claimed_by`. */
  id: text('id').primaryKey(),
  seenAt: at('seen_at').notNull(),
})

// ---------------------------------------------------------------- unique codes and permissions

/**
 * Unique codes (SPEC §4): a code a person without an account types into the app's Code Login.
 * The code is stored encrypted (shown to owners and admins) and as a keyed hash to find it at login.
 */
export const uniqueCodes = pgTable(
  'unique_codes',
  {
    id: id(),
    organizationId: organizationId(),
    description: text('description').notNull(),
    /** The canonical code (10 characters, no dash), encrypted at rest (AAD = `unique_code:<id>`). */
    codeEncrypted: text('code_encrypted').notNull(),
    /** Secrets.lookupHash('unique_code', canonical): Code Login finds the code by it, across organizations. */
    codeHash: text('code_hash').notNull(),
    expiresAt: at('expires_at').notNull(),
    /** The device the code is bound to (the first that logged in with it); null until then or after a reset. */
    boundDeviceId: text('bound_device_id'),
    boundAt: at('bound_at'),
    createdBy: uuid('created_by').references(() => users.id, { onDelete: 'set null' }),
    createdAt: at('created_at').notNull(),
    deletedAt: at('deleted_at'),
  },
  (t) => [
    uniqueIndex('unique_codes_code_hash_key').on(t.codeHash),
    index('unique_codes_org_idx').on(t.organizationId),
  ],
)

/**
 * A lock shared to a unique code or to a user with a permission level (SPEC §4). At most one share
 * in force per (lock, grantee); a revoked share stays for the record.
 */
export const permissions = pgTable(
  'permissions',
  {
    id: id(),
    organizationId: organizationId(),
    lockId: uuid('lock_id')
      .notNull()
      .references(() => locks.id, { onDelete: 'cascade' }),
    granteeType: text('grantee_type').$type<GranteeType>().notNull(),
    uniqueCodeId: uuid('unique_code_id').references(() => uniqueCodes.id, { onDelete: 'cascade' }),
    userId: uuid('user_id').references(() => users.id, { onDelete: 'cascade' }),
    level: text('level').$type<PermissionLevel>().notNull(),
    startsAt: at('starts_at'),
    endsAt: at('ends_at'),
    schedule: jsonb('schedule').$type<WeeklySchedule>(),
    /** one_time: when its one opening was spent (a remote unlock, or its one eKey). */
    usedAt: at('used_at'),
    createdBy: uuid('created_by').references(() => users.id, { onDelete: 'set null' }),
    createdAt: at('created_at').notNull(),
    revokedAt: at('revoked_at'),
    revokedBy: uuid('revoked_by').references(() => users.id, { onDelete: 'set null' }),
  },
  (t) => [
    index('permissions_org_idx').on(t.organizationId),
    index('permissions_lock_idx').on(t.lockId),
    index('permissions_unique_code_idx').on(t.uniqueCodeId),
    index('permissions_user_idx').on(t.userId),
    uniqueIndex('permissions_lock_unique_code_key')
      .on(t.lockId, t.uniqueCodeId)
      .where(sql`${t.revokedAt} is null and ${t.uniqueCodeId} is not null`),
    uniqueIndex('permissions_lock_user_key')
      .on(t.lockId, t.userId)
      .where(sql`${t.revokedAt} is null and ${t.userId} is not null`),
  ],
)

/**
 * Sessions of Code Login (the app of a person holding a unique code). Only the token's SHA-256 is
 * stored; a session ends at the code's expiry at the latest, and with the code.
 */
export const appSessions = pgTable(
  'app_sessions',
  {
    id: id(),
    tokenHash: text('token_hash').notNull(),
    organizationId: organizationId(),
    uniqueCodeId: uuid('unique_code_id')
      .notNull()
      .references(() => uniqueCodes.id, { onDelete: 'cascade' }),
    deviceId: text('device_id').notNull(),
    createdAt: at('created_at').notNull(),
    expiresAt: at('expires_at').notNull(),
  },
  (t) => [
    uniqueIndex('app_sessions_token_hash_key').on(t.tokenHash),
    index('app_sessions_unique_code_idx').on(t.uniqueCodeId),
  ],
)

/**
 * Every eKey the server signed. Revoking a share or deleting a unique code marks its unexpired keys
 * revoked; the lock learns them through its revocation list (`set_revocations`).
 */
export const ekeys = pgTable(
  'ekeys',
  {
    keyId: uuid('key_id').primaryKey(),
    organizationId: organizationId(),
    lockId: uuid('lock_id')
      .notNull()
      .references(() => locks.id, { onDelete: 'cascade' }),
    permissionId: uuid('permission_id')
      .notNull()
      .references(() => permissions.id, { onDelete: 'cascade' }),
    uniqueCodeId: uuid('unique_code_id'),
    userId: uuid('user_id'),
    level: text('level').$type<PermissionLevel>().notNull(),
    notBefore: at('not_before').notNull(),
    notAfter: at('not_after').notNull(),
    issuedAt: at('issued_at').notNull(),
    revokedAt: at('revoked_at'),
  },
  (t) => [
    index('ekeys_permission_idx').on(t.permissionId),
    index('ekeys_lock_revoked_idx').on(t.lockId, t.notAfter).where(sql`${t.revokedAt} is not null`),
  ],
)

// ---------------------------------------------------------------- properties and stays (SPEC §11)

export const CODE_STRATEGIES = ['random', 'phone_last4'] as const
export type CodeStrategy = (typeof CODE_STRATEGIES)[number]

/** A place with a time zone and some of the organization's locks, and the defaults of its stays. */
export const properties = pgTable(
  'properties',
  {
    id: id(),
    organizationId: organizationId(),
    name: text('name').notNull(),
    timezone: text('timezone').notNull(),
    /** The property's locks, in the order the owner gave them. */
    lockIds: jsonb('lock_ids').$type<string[]>().notNull(),
    /** "HH:MM" local. */
    checkInTime: text('check_in_time').notNull(),
    checkOutTime: text('check_out_time').notNull(),
    bufferBeforeMinutes: integer('buffer_before_minutes').notNull(),
    bufferAfterMinutes: integer('buffer_after_minutes').notNull(),
    codeLength: integer('code_length').notNull(),
    codeStrategy: text('code_strategy').$type<CodeStrategy>().notNull(),
    messageTemplate: text('message_template').notNull(),
    createdAt: at('created_at').notNull(),
    updatedAt: at('updated_at').notNull(),
    deletedAt: at('deleted_at'),
  },
  (t) => [index('properties_org_idx').on(t.organizationId)],
)

/** An iCal feed of a booking site on a property, polled by one server process at a time. */
export const calendars = pgTable(
  'calendars',
  {
    id: id(),
    organizationId: organizationId(),
    propertyId: uuid('property_id')
      .notNull()
      .references(() => properties.id, { onDelete: 'cascade' }),
    name: text('name').notNull(),
    url: text('url').notNull(),
    pollMinutes: integer('poll_minutes').notNull(),
    /** When the feed is fetched next. */
    nextSyncAt: at('next_sync_at').notNull(),
    /** Lease of the process fetching it. */
    claimedBy: text('claimed_by'),
    claimedUntil: at('claimed_until'),
    /** The last fetch that was read whole, and what went wrong on the last one (null when it went well). */
    lastSyncedAt: at('last_synced_at'),
    lastAttemptAt: at('last_attempt_at'),
    lastError: text('last_error'),
    createdAt: at('created_at').notNull(),
  },
  (t) => [
    index('calendars_property_idx').on(t.propertyId),
    index('calendars_next_sync_idx').on(t.nextSyncAt),
  ],
)

/** How the stay's PIN was chosen. */
export type StayCodeSource = 'phone_last4' | 'random'

/** A guest's reservation on a property: one PIN on every lock of the property (its access codes). */
export const stays = pgTable(
  'stays',
  {
    id: id(),
    organizationId: organizationId(),
    propertyId: uuid('property_id')
      .notNull()
      .references(() => properties.id, { onDelete: 'cascade' }),
    guestName: text('guest_name').notNull(),
    /** As given: a date ("2027-03-08") or a date-time, read in the property's zone. */
    checkIn: text('check_in').notNull(),
    checkOut: text('check_out').notNull(),
    /** The instants of check-in and check-out. */
    checkInAt: at('check_in_at').notNull(),
    checkOutAt: at('check_out_at').notNull(),
    phone: text('phone'),
    /** The calendar it came from (null: made by hand), and the feed's UID of its event. */
    calendarId: uuid('calendar_id').references(() => calendars.id, { onDelete: 'set null' }),
    externalUid: text('external_uid'),
    codeSource: text('code_source').$type<StayCodeSource>().notNull(),
    warnings: jsonb('warnings').$type<CodeIssue[]>().notNull().default(sql`'[]'::jsonb`),
    /** When `code_not_confirmed` was raised (once per stay window). */
    codeNotConfirmedAt: at('code_not_confirmed_at'),
    cancelledAt: at('cancelled_at'),
    createdBy: uuid('created_by').references(() => users.id, { onDelete: 'set null' }),
    createdAt: at('created_at').notNull(),
    updatedAt: at('updated_at').notNull(),
    deletedAt: at('deleted_at'),
  },
  (t) => [
    index('stays_org_idx').on(t.organizationId),
    index('stays_property_idx').on(t.propertyId),
    uniqueIndex('stays_calendar_uid_key')
      .on(t.calendarId, t.externalUid)
      .where(sql`${t.externalUid} is not null`),
    index('stays_check_in_idx')
      .on(t.checkInAt)
      .where(sql`${t.codeNotConfirmedAt} is null and ${t.cancelledAt} is null`),
  ],
)

// ---------------------------------------------------------------- audit

export const events = pgTable(
  'events',
  {
    /** Cursor for paging (`after`). */
    id: bigserial('id', { mode: 'number' }).primaryKey(),
    organizationId: organizationId(),
    lockId: uuid('lock_id').references(() => locks.id, { onDelete: 'set null' }),
    /** SPEC §7 type, e.g. `lock.unlocked`, `access_code.created`. */
    type: text('type').notNull(),
    /** Filter columns; no foreign keys, the audit outlives what it speaks of. */
    accessCodeId: uuid('access_code_id'),
    uniqueCodeId: uuid('unique_code_id'),
    gatewayId: uuid('gateway_id'),
    actorUserId: uuid('actor_user_id'),
    data: jsonb('data').$type<Record<string, unknown>>().notNull().default(sql`'{}'::jsonb`),
    occurredAt: at('occurred_at').notNull(),
    recordedAt: at('recorded_at').notNull(),
    /** The lock's own event `seq` for events that came from the lock: stored once. */
    lockSeq: bigint('lock_seq', { mode: 'number' }),
    /**
     * The inserting transaction (`pg_current_xact_id()`): the cursor goes in (tx, id) order and hands
     * out only events of transactions older than every one still open (audit/list-events.ts).
     */
    tx: xid8('tx').notNull().default(sql`pg_current_xact_id()`),
    /**
     * `lock.access_denied` of an unknown PIN: the keyed hash the lock reported (protocol
     * `deniedPinHash`, under that lock's key; never the PIN, never shown). The diagnosis matches a code
     * typed at the wrong lock by it.
     */
    pinHash: text('pin_hash'),
  },
  (t) => [
    uniqueIndex('events_lock_seq_key').on(t.lockId, t.lockSeq).where(sql`${t.lockSeq} is not null`),
    index('events_org_id_idx').on(t.organizationId, t.id),
    index('events_org_tx_id_idx').on(t.organizationId, t.tx, t.id),
    index('events_lock_id_idx').on(t.lockId, t.id),
    index('events_access_code_id_idx').on(t.accessCodeId, t.id).where(sql`${t.accessCodeId} is not null`),
    index('events_unique_code_id_idx').on(t.uniqueCodeId, t.id).where(sql`${t.uniqueCodeId} is not null`),
  ],
)

// ---------------------------------------------------------------- webhooks (SPEC §13)

/** An organization's webhook: where matching events are POSTed, signed (Standard Webhooks). */
export const webhooks = pgTable(
  'webhooks',
  {
    id: id(),
    organizationId: organizationId(),
    url: text('url').notNull(),
    description: text('description'),
    /** Event types (`lock.unlocked`) or families (`lock.*`) it receives; null: every event. */
    eventTypes: text('event_types').array(),
    /** The signing secret (`whsec_…`), encrypted at rest under `webhook:<id>`. */
    secretCiphertext: text('secret_ciphertext').notNull(),
    /** After a rotation the previous secret signs too, until `previous_secret_expires_at`. */
    previousSecretCiphertext: text('previous_secret_ciphertext'),
    previousSecretExpiresAt: at('previous_secret_expires_at'),
    enabled: boolean('enabled').notNull().default(true),
    disabledAt: at('disabled_at'),
    disabledReason: text('disabled_reason'),
    /** The first failed attempt since the last delivered one (5 days of failure disable it). */
    failingSince: at('failing_since'),
    createdBy: uuid('created_by').references(() => users.id, { onDelete: 'set null' }),
    createdAt: at('created_at').notNull(),
    updatedAt: at('updated_at').notNull(),
  },
  (t) => [index('webhooks_org_idx').on(t.organizationId)],
)

export const WEBHOOK_DELIVERY_STATES = ['pending', 'delivered', 'failed'] as const
export type WebhookDeliveryState = (typeof WEBHOOK_DELIVERY_STATES)[number]

/**
 * One event (or a test event) owed to one webhook: written in the transaction that records the
 * event, claimed by one server process at a time (a lease), sent until delivered or 3 days have passed.
 */
export const webhookDeliveries = pgTable(
  'webhook_deliveries',
  {
    id: id(),
    organizationId: organizationId(),
    webhookId: uuid('webhook_id')
      .notNull()
      .references(() => webhooks.id, { onDelete: 'cascade' }),
    /** The event delivered; null for a test event (its body is in `payload`). */
    eventId: bigint('event_id', { mode: 'number' }),
    eventType: text('event_type').notNull(),
    payload: jsonb('payload').$type<Record<string, unknown>>(),
    state: text('state').$type<WebhookDeliveryState>().notNull().default('pending'),
    attempts: integer('attempts').notNull().default(0),
    nextAttemptAt: at('next_attempt_at').notNull(),
    /** Lease of the process sending it. */
    claimedBy: text('claimed_by'),
    claimedUntil: at('claimed_until'),
    lastAttemptAt: at('last_attempt_at'),
    lastStatusCode: integer('last_status_code'),
    lastError: text('last_error'),
    deliveredAt: at('delivered_at'),
    createdAt: at('created_at').notNull(),
  },
  (t) => [
    uniqueIndex('webhook_deliveries_event_key')
      .on(t.webhookId, t.eventId)
      .where(sql`${t.eventId} is not null`),
    index('webhook_deliveries_due_idx').on(t.nextAttemptAt).where(sql`${t.state} = 'pending'`),
    index('webhook_deliveries_webhook_idx').on(t.webhookId, t.createdAt),
  ],
)

/** Each attempt at a delivery: when, how long, what the receiver answered or what went wrong. */
export const webhookAttempts = pgTable(
  'webhook_attempts',
  {
    id: bigserial('id', { mode: 'number' }).primaryKey(),
    deliveryId: uuid('delivery_id')
      .notNull()
      .references(() => webhookDeliveries.id, { onDelete: 'cascade' }),
    attemptedAt: at('attempted_at').notNull(),
    durationMs: integer('duration_ms').notNull(),
    /** The receiver's HTTP status; null when no answer came (refused target, timeout, network). */
    statusCode: integer('status_code'),
    error: text('error'),
    /** The server process that made it (`host:pid:…`). */
    sentBy: text('sent_by').notNull(),
  },
  (t) => [index('webhook_attempts_delivery_idx').on(t.deliveryId, t.id)],
)

export type Organization = typeof organizations.$inferSelect
export type User = typeof users.$inferSelect
export type Membership = typeof memberships.$inferSelect
export type Session = typeof sessions.$inferSelect
export type ApiKey = typeof apiKeys.$inferSelect
export type Gateway = typeof gateways.$inferSelect
export type Lock = typeof locks.$inferSelect
export type LockCommand = typeof lockCommands.$inferSelect
export type AccessCode = typeof accessCodes.$inferSelect
export type LockSync = typeof lockSync.$inferSelect
export type UniqueCode = typeof uniqueCodes.$inferSelect
export type Permission = typeof permissions.$inferSelect
export type AppSession = typeof appSessions.$inferSelect
export type EKeyRow = typeof ekeys.$inferSelect
export type Property = typeof properties.$inferSelect
export type Calendar = typeof calendars.$inferSelect
export type Stay = typeof stays.$inferSelect
export type EventRow = typeof events.$inferSelect
export type NewEventRow = typeof events.$inferInsert
export type Webhook = typeof webhooks.$inferSelect
export type WebhookDelivery = typeof webhookDeliveries.$inferSelect
export type WebhookAttempt = typeof webhookAttempts.$inferSelect
