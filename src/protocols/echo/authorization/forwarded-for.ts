// The `X-Forwarded-For` the bridge sends when it calls Laravel for a client: the client's address
// as far as BRIDGE_TRUST_PROXY lets the bridge tell, then the proxies it passed.
import type { IncomingMessage } from 'node:http'
import { isIP } from 'node:net'
import proxyAddr from '@fastify/proxy-addr'

/** `::ffff:10.0.0.1` as `10.0.0.1`, the way PHP and Laravel's TrustProxies write IPv4 addresses. */
function plain (address: string): string {
  const mapped = /^::ffff:(\d+\.\d+\.\d+\.\d+)$/i.exec(address)
  return mapped?.[1] ?? address
}

/** The peer alone unless it is a trusted proxy; else the hops sent up to the first untrusted one, with the peer. */
export function createForwardedFor (trustProxy: readonly string[]) {
  const trusted = trustProxy.length > 0 ? proxyAddr.compile([...trustProxy]) : undefined
  return function forwardedFor (peer: string | undefined, header: string | string[] | undefined): string | undefined {
    if (peer === undefined || isIP(plain(peer)) === 0) return undefined
    if (trusted === undefined || typeof header !== 'string') return plain(peer)
    const request = { headers: { 'x-forwarded-for': header }, socket: { remoteAddress: peer } } as unknown as IncomingMessage
    const hops: string[] = []
    for (const hop of proxyAddr.all(request, trusted)) {
      // A hop that is not an address is nothing Laravel could use; the chain ends before it.
      if (isIP(plain(hop)) === 0) break
      hops.push(plain(hop))
    }
    return hops.reverse().join(', ')
  }
}
