import { describe, expect, it } from 'vitest'
import { humanLine, humanLogger } from './human-log.ts'

describe('log lines on a terminal', () => {
  it('prints time, level, message and fields, not a JSON record', () => {
    const lines: string[] = []
    const log = humanLogger('info', (line) => lines.push(line))
    log.warn({ lockId: 'front', err: new Error('gone') }, 'could not acknowledge events')
    log.debug('not shown at info')
    expect(lines).toHaveLength(1)
    expect(lines[0]).toMatch(
      /^\d\d:\d\d:\d\d WARN {2}could not acknowledge events {2}\(gone\) {2}lockId=front\n$/,
    )
    expect(
      humanLine({ level: 30, time: Date.parse('2030-01-15T10:00:00Z'), msg: 'Server listening', port: 8080 }),
    ).toBe('10:00:00 INFO  Server listening  port=8080')
  })
})
