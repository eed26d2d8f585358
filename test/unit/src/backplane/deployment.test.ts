// Which Redis deployment the configuration names, with the credentials and TLS of each kind of
// server, and how log lines name it: never the password.
import { mkdtemp, rm, writeFile } from 'node:fs/promises'
import { tmpdir } from 'node:os'
import { join } from 'node:path'
import { rootCertificates } from 'node:tls'
import t from 'tap'
import { loadConfig } from '../../../../src/config/index.ts'
import { redisDeploymentOf } from '../../../../src/backplane/create.ts'
import { describeDeployment } from '../../../../src/backplane/redis/connection.ts'
import { testEnv } from '../../../helpers/bridge.ts'

const dir = await mkdtemp(join(tmpdir(), 'bridge-deployment-'))
t.teardown(() => rm(dir, { recursive: true, force: true }))
const ca = join(dir, 'ca.pem')
await writeFile(ca, rootCertificates[0] as string)
const pem = (rootCertificates[0] as string).trim()

t.test('a Redis Cluster: the servers\' credentials and TLS with the CA', async (t) => {
  const deployment = redisDeploymentOf(loadConfig(testEnv({ REDIS_CLUSTER_NODES: 'redis-1:7000', REDIS_USERNAME: 'bridge', REDIS_PASSWORD: 'pw-1', REDIS_TLS: 'on', REDIS_TLS_CA: ca })))
  t.same(deployment, { kind: 'cluster', nodes: [{ host: 'redis-1', port: 7000 }], access: { username: 'bridge', password: 'pw-1', tls: { ca: pem } } })
  t.equal(describeDeployment(deployment!), 'the Redis Cluster of redis-1:7000 with a password as bridge over TLS')
})

t.test('a Sentinel set: the data nodes\' and the sentinels\' credentials apart, TLS to both', async (t) => {
  const deployment = redisDeploymentOf(loadConfig(testEnv({
    REDIS_SENTINELS: '10.0.0.1:26379', REDIS_SENTINEL_NAME: 'mymaster', REDIS_PASSWORD: 'pw-1', REDIS_SENTINEL_PASSWORD: 'pw-2', REDIS_TLS: 'on'
  })))
  t.match(deployment, { kind: 'sentinel', access: { password: 'pw-1', tls: { ca: undefined } }, sentinelAccess: { password: 'pw-2', tls: { ca: undefined } } })
  t.equal(describeDeployment(deployment!), 'the Redis primary "mymaster" with a password over TLS of the sentinels 10.0.0.1:26379 with a password over TLS')
  const plain = redisDeploymentOf(loadConfig(testEnv({ REDIS_SENTINELS: '10.0.0.1:26379', REDIS_SENTINEL_NAME: 'mymaster' })))
  t.equal(describeDeployment(plain!), 'the Redis primary "mymaster" of the sentinels 10.0.0.1:26379', 'as before without them')
})

t.test('one Redis: REDIS_TLS_CA for a rediss:// URL only', async (t) => {
  t.same(redisDeploymentOf(loadConfig(testEnv({ REDIS_URL: 'rediss://:pw@redis:6380', REDIS_TLS_CA: ca }))), { kind: 'single', url: 'rediss://:pw@redis:6380', ca: pem })
  t.same(redisDeploymentOf(loadConfig(testEnv({ REDIS_URL: 'redis://redis:6379', BRIDGE_LARAVEL_REDIS_URL: 'rediss://app-redis:6380', REDIS_TLS_CA: ca }))),
    { kind: 'single', url: 'redis://redis:6379', ca: undefined }, 'the CA is for Laravel\'s Redis there')
})
