/** What identifies a lock to commission (SPEC §12), and `host:port` addresses. */
export type CommissionTarget =
  | { pairingCode: string; address?: string }
  | { passcode: number; discriminator: number; address?: string }

export function parseAddress(address: string): { ip: string; port: number } {
  const match = /^\[?([^\]]+?)\]?:(\d{1,5})$/.exec(address.trim())
  const port = match === null ? Number.NaN : Number(match[2])
  if (match === null || match[1] === undefined || !(port > 0 && port < 65536)) {
    throw new Error(`"${address}" is not an address of the form host:port`)
  }
  return { ip: match[1] === 'localhost' ? '127.0.0.1' : match[1], port }
}
