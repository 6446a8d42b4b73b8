import { networkInterfaces } from 'node:os'
import { expect, it } from 'vitest'
import { matterSettingsFrom } from './lazy-matter-channel.ts'

it('takes the Matter settings of the environment, and refuses what is not one in words', () => {
  expect(matterSettingsFrom({})).toEqual({})
  const name = Object.keys(networkInterfaces())[0]!
  expect(
    matterSettingsFrom({
      LATCHKEY_MATTER_INTERFACE: name,
      LATCHKEY_MATTER_COMMANDS_PER_HOUR: '30',
      LATCHKEY_MATTER_COMMAND_TIME_LIMIT_MS: '40000',
    }),
  ).toEqual({ networkInterface: name, commandsPerHour: 30, commandTimeLimitMs: 40_000 })
  expect(() => matterSettingsFrom({ LATCHKEY_MATTER_INTERFACE: 'nope9' })).toThrow(
    /^LATCHKEY_MATTER_INTERFACE must be a network interface of this machine \(.*\), not “nope9”$/,
  )
  expect(() => matterSettingsFrom({ LATCHKEY_MATTER_COMMANDS_PER_HOUR: '0' })).toThrow(
    'LATCHKEY_MATTER_COMMANDS_PER_HOUR must be a whole number from 1, not “0”',
  )
  expect(() => matterSettingsFrom({ LATCHKEY_MATTER_COMMAND_TIME_LIMIT_MS: '1.5' })).toThrow(
    'LATCHKEY_MATTER_COMMAND_TIME_LIMIT_MS must be a whole number from 1, not “1.5”',
  )
})
