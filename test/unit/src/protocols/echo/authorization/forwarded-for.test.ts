// The X-Forwarded-For the bridge sends Laravel for a client: the peer alone unless it is a
// proxy BRIDGE_TRUST_PROXY names, then the hops the bridge can vouch for, the peer last.
import t from 'tap'
import { createForwardedFor } from '../../../../../../src/protocols/echo/authorization/forwarded-for.ts'

t.test('without trusted proxies: the peer, whatever X-Forwarded-For it sent', async (t) => {
  const forwardedFor = createForwardedFor([])
  t.equal(forwardedFor('203.0.113.7', undefined), '203.0.113.7')
  t.equal(forwardedFor('203.0.113.7', '10.0.0.1, 198.51.100.2'), '203.0.113.7', 'a spoofed chain is dropped')
  t.equal(forwardedFor('::ffff:203.0.113.7', undefined), '203.0.113.7', 'an IPv4-mapped address written as IPv4')
  t.equal(forwardedFor('2001:db8::1', undefined), '2001:db8::1')
  t.equal(forwardedFor(undefined, '10.0.0.1'), undefined, 'no peer, no header')
})

t.test('behind a trusted proxy: its chain, as far as the bridge trusts it, with the peer appended', async (t) => {
  const forwardedFor = createForwardedFor(['10.0.0.0/8'])
  t.equal(forwardedFor('10.0.0.2', '203.0.113.7'), '203.0.113.7, 10.0.0.2', 'the client, then the proxy')
  t.equal(forwardedFor('10.0.0.2', '203.0.113.7, 10.0.0.3'), '203.0.113.7, 10.0.0.3, 10.0.0.2', 'through two trusted proxies')
  t.equal(forwardedFor('10.0.0.2', '198.51.100.9, 203.0.113.7'), '203.0.113.7, 10.0.0.2', 'what the client claimed before the first untrusted hop is dropped')
  t.equal(forwardedFor('10.0.0.2', undefined), '10.0.0.2', 'a trusted proxy that sent no header')
  t.equal(forwardedFor('10.0.0.2', 'not-an-address'), '10.0.0.2', 'a hop that is not an address ends the chain')
  t.equal(forwardedFor('::ffff:10.0.0.2', '203.0.113.7'), '203.0.113.7, 10.0.0.2', 'an IPv4-mapped peer is trusted by its IPv4 range')
  t.equal(forwardedFor('198.51.100.1', '203.0.113.7'), '198.51.100.1', 'a peer outside the trusted ranges: its header is dropped')
})

t.test('loopback, linklocal and uniquelocal name the ranges they stand for', async (t) => {
  t.equal(createForwardedFor(['loopback'])('127.0.0.1', '203.0.113.7'), '203.0.113.7, 127.0.0.1')
  t.equal(createForwardedFor(['uniquelocal'])('127.0.0.1', '203.0.113.7'), '127.0.0.1')
})
