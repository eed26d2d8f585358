// The config schema drives the loader: its defaults are what an empty environment gets, and
// whatever the loader returns has the type the schema gives `Config`.
import t from 'tap'
import { Value } from 'typebox/value'
import { loadConfig } from '../../../../src/config/index.ts'
import { ConfigSchema } from '../../../../src/config/schema.ts'
import { isVariable, variablesOf } from '../../../../src/config/variables.ts'
import { defaultMaxHeapUsedBytes, defaultMaxRssBytes } from '../../../../src/config/memory-defaults.ts'
import { secrets } from '../../../helpers/bridge.ts'

const production = { NODE_ENV: 'production', BRIDGE_API_TOKEN: secrets.apiToken, BRIDGE_JWT_SECRET: secrets.jwtSecret }

t.test('an empty environment gets every constant default the schema declares', async (t) => {
  const config = loadConfig({}) as Record<string, unknown>
  const fields = Object.entries(ConfigSchema.properties).filter(([, schema]) => isVariable(schema) && 'default' in schema)
  t.ok(fields.length >= 20, `${fields.length} fields with a constant default`)
  for (const [field, schema] of fields) {
    t.same(config[field], (schema as { default: unknown }).default, field)
  }
})

t.test('computed defaults follow the mode and the machine', async (t) => {
  t.match(loadConfig({}), { host: '127.0.0.1', corsOrigins: true })
  t.match(loadConfig({ BRIDGE_API_TOKEN: 'dev-token' }), { host: '0.0.0.0', corsOrigins: true })
  t.match(loadConfig(production), { host: '0.0.0.0', corsOrigins: [] })
  t.match(loadConfig({}), { maxHeapUsedBytes: defaultMaxHeapUsedBytes(), maxRssBytes: defaultMaxRssBytes() })
})

t.test('a list default is a fresh copy for each load', async (t) => {
  const first = loadConfig({})
  first.trustProxy.push('loopback')
  first.apiTokens.push('x')
  t.same(loadConfig({}).trustProxy, [])
  t.same(loadConfig({}).apiTokens, [])
})

t.test('what the loader returns matches the schema the Config type comes from', async (t) => {
  const environments = [
    {},
    production,
    {
      ...production,
      PORT: '8080',
      CORS_ORIGINS: 'https://app.example.com',
      BRIDGE_TRUST_PROXY: 'loopback',
      BRIDGE_METRICS_TOKEN: secrets.apiToken,
      BRIDGE_MAX_EVENT_LOOP_UTILIZATION: '0.5',
      BRIDGE_WHISPERS: 'off',
      REDIS_URL: 'redis://127.0.0.1:6379',
      BRIDGE_AUTH_ENDPOINT: 'https://app.example.com/broadcasting/auth',
      BRIDGE_PUSHER_APP_ID: 'app',
      BRIDGE_PUSHER_KEY: 'key',
      BRIDGE_PUSHER_SECRET: secrets.apiToken,
      BRIDGE_LARAVEL_REDIS_PREFIX: ''
    },
    { REDIS_SENTINELS: '10.0.0.1:26379,10.0.0.2:26379', REDIS_SENTINEL_NAME: 'mymaster' },
    { REDIS_CLUSTER_NODES: 'redis-1:7000' }
  ]
  for (const env of environments) {
    const config = loadConfig(env)
    t.same([...Value.Errors(ConfigSchema, config)], [], JSON.stringify(env))
  }
  t.notOk(Value.Check(ConfigSchema, { ...loadConfig({}), port: '3000' }), 'the check can fail')
})

t.test('every variable has one name, and a meaning or the row of another', async (t) => {
  const variables = variablesOf(ConfigSchema.properties)
  const names = variables.map((schema) => schema.env)
  t.same(names.filter((name, index) => names.indexOf(name) !== index), [], 'no variable is declared twice')
  for (const schema of variables) {
    t.ok(schema.description !== undefined || (schema.row !== undefined && names.includes(schema.row)), schema.env)
  }
})
