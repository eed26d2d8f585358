// Secrets and modes in the configuration: production refuses to start without them.
import t from 'tap'
import { ConfigError, loadConfig } from '../../../../src/config/index.ts'

const long = (name: string) => `${name}-0123456789abcdef0123456789abcdef`
const production = {
  NODE_ENV: 'production',
  BRIDGE_API_TOKEN: long('api'),
  BRIDGE_JWT_SECRET: long('jwt'),
  CORS_ORIGINS: 'https://app.example.com'
}

function refusal (env: Record<string, string | undefined>): string {
  try {
    loadConfig(env)
  } catch (error) {
    if (error instanceof ConfigError) return error.message
    throw error
  }
  throw new Error('the configuration was accepted')
}

t.test('development without secrets runs open', async (t) => {
  const config = loadConfig({})
  t.same(config.apiTokens, [])
  t.equal(config.apiSigningSecret, undefined)
  t.equal(config.jwtSecret, undefined)
  t.equal(config.corsOrigins, true)
})

t.test('BRIDGE_API_TOKEN is a comma-separated list (rotation); blanks are ignored', async (t) => {
  t.same(loadConfig({ BRIDGE_API_TOKEN: ' old , new ,,' }).apiTokens, ['old', 'new'])
})

t.test('production with every secret starts', async (t) => {
  const config = loadConfig({ ...production, BRIDGE_API_SIGNING_SECRET: long('signing') })
  t.same(config.apiTokens, [long('api')])
  t.equal(config.jwtSecret, long('jwt'))
  t.equal(config.apiSigningSecret, long('signing'))
  t.same(config.corsOrigins, ['https://app.example.com'])
})

t.test('production refuses a missing secret, naming the variable on one line', async (t) => {
  const blanks = { BRIDGE_API_TOKEN: [undefined, '', ' ', ', ,'], BRIDGE_JWT_SECRET: [undefined, '', ' '] }
  for (const [name, values] of Object.entries(blanks)) {
    for (const value of values) {
      const message = refusal({ ...production, [name]: value })
      t.match(message, new RegExp(`^${name} is required when NODE_ENV=production`), `${name}=${JSON.stringify(value)}`)
      t.notMatch(message, /\n/)
    }
  }
})

t.test('production refuses secrets shorter than 32 bytes, without printing them', async (t) => {
  const short = 'a'.repeat(31)
  for (const name of ['BRIDGE_API_TOKEN', 'BRIDGE_JWT_SECRET', 'BRIDGE_API_SIGNING_SECRET']) {
    const message = refusal({ ...production, [name]: short })
    t.match(message, new RegExp(`^${name} must be at least 32 bytes`), name)
    t.notOk(message.includes(short), 'the secret is not in the message')
  }
  t.match(refusal({ ...production, BRIDGE_API_TOKEN: `${long('api')},${short}` }), /^BRIDGE_API_TOKEN must be at least 32 bytes/,
    'every token of a rotation')
  t.ok(loadConfig({ ...production, BRIDGE_JWT_SECRET: 'a'.repeat(32) }), '32 bytes is enough')
})

t.test('development accepts short secrets', async (t) => {
  t.equal(loadConfig({ BRIDGE_JWT_SECRET: 'dev' }).jwtSecret, 'dev')
})

t.test('production refuses CORS_ORIGINS=* and allows no origin by default', async (t) => {
  t.match(refusal({ ...production, CORS_ORIGINS: '*' }), /^CORS_ORIGINS must list the frontend origins/)
  t.same(loadConfig({ ...production, CORS_ORIGINS: undefined }).corsOrigins, [])
})
