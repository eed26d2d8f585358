// A Redis URL as log lines and messages show it.

/** The URL without its credentials. */
export function describeRedisUrl (url: string): string {
  const { protocol, host, pathname } = new URL(url)
  return `${protocol}//${host}${pathname === '/' ? '' : pathname}`
}
