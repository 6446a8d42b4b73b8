/** `--trust-proxy` / LATCHKEY_TRUST_PROXY: a hop count, or the proxies' addresses (comma-separated). */
export function trustProxyOption(value: string | undefined): number | string | undefined {
  const text = value?.trim()
  if (text === undefined || text === '') return undefined
  return /^\d+$/.test(text) ? Number(text) : text
}
