// A Laravel setup's usual mistakes, named in the log of the real process at LOG_LEVEL=info: the
// start line names every path, Laravel's first refusal of each kind comes with a hint, a refused
// browser origin is named, and broadcasts under another Redis prefix are pointed out.
import { randomUUID } from 'node:crypto'
import t from 'tap'
import { connectClient, freePort, secrets, startServer, subscribe } from '../helpers/bridge.ts'
import { answerTo, connectEcho } from '../helpers/echo.ts'
import { fakeLaravel } from '../helpers/fake-laravel.ts'
import { publisherFor } from '../helpers/laravel-redis.ts'
import { privateRedis } from '../helpers/redis.ts'

t.setTimeout(180_000)

t.test('a Laravel setup with mistakes: each is named at LOG_LEVEL=info', async (t) => {
  const laravel = await fakeLaravel(t)
  // What a misconfigured Laravel answers, by channel.
  const statuses: Record<string, number> = { 'private-wrong-path': 404, 'private-wrong-path.2': 404, 'private-csrf': 419, 'private-no-cookie': 403, 'private-not-yours': 403 }
  laravel.answer = ({ form }) => ({ status: statuses[form.channel_name ?? ''] ?? 200, body: statuses[form.channel_name ?? ''] === undefined ? 'true' : '' })
  const app = `test_${randomUUID().slice(0, 8)}`
  // A Redis of its own: the watch sees every broadcast on its Redis, other tests' included.
  const redis = await privateRedis(t)
  const port = await freePort()
  const server = startServer({
    PORT: String(port),
    HOST: '127.0.0.1',
    LOG_LEVEL: 'info',
    BRIDGE_API_TOKEN: secrets.apiToken,
    BRIDGE_AUTH_ENDPOINT: `${laravel.url}?ignored=query`,
    BRIDGE_LARAVEL_REDIS_URL: redis.url,
    // Laravel 8's prefix is laravel_database_; this one has dashes, a usual slip.
    BRIDGE_LARAVEL_REDIS_PREFIX: `${app}-database-`,
    CORS_ORIGINS: 'https://app.example.com'
  })
  t.teardown(() => { server.child.kill('SIGKILL') })
  const started = await server.logLine('started: ')
  t.equal(started.level, 30)
  t.equal(started.msg, 'started: HTTP API /api: bearer token (BRIDGE_API_TOKEN); socket.io rooms: refused (no BRIDGE_JWT_SECRET); ' +
    `Laravel Echo: private and presence channels authorized by Laravel at ${laravel.url}; ` +
    `Laravel's redis broadcaster: channels ${app}-database-* on ${redis.url}; single node (no REDIS_URL); browsers: https://app.example.com, with cookies`)
  await server.logLine('Server listening')
  const url = `http://127.0.0.1:${port}`

  // Laravel's refusals: the first of each kind at warn with its hint.
  const anonymous = await connectEcho(t, url)
  for (const channel of ['wrong-path', 'csrf', 'no-cookie', 'wrong-path.2']) {
    anonymous.private(channel)
    t.equal(await answerTo(anonymous, `private-${channel}`), statuses[`private-${channel}`])
  }
  const signedIn = await connectEcho(t, url, { extraHeaders: { cookie: 'laravel_session=abc' } })
  signedIn.private('not-yours')
  t.equal(await answerTo(signedIn, 'private-not-yours'), 403)

  // Without BRIDGE_JWT_SECRET nothing could grant a room, and room R is private-R: shut.
  const roomClient = await connectClient(t, url)
  t.match(await subscribe(roomClient, 'orders.1'), { ok: false, error: { code: 'FORBIDDEN', message: /BRIDGE_JWT_SECRET is not set/ } })

  // A page on an origin CORS_ORIGINS does not list.
  const refused = await fetch(`${url}/socket.io/?EIO=4&transport=polling`, { headers: { origin: 'https://app.example.org' } })
  t.equal(refused.status, 403)

  // Laravel broadcasts under laravel's real prefix, which the bridge does not listen to.
  const publish = await publisherFor(t, `${app}_database_`, redis.url)
  await publish('private-orders.1', { event: 'App\\Events\\OrderShipped', data: { id: 1, socket: null }, socket: null })
  const prefixWarning = await server.logLine('Laravel broadcasts on this Redis arrive under another prefix')
  await server.logLine('browser origin refused')

  const lines = server.output().stdout.split('\n').filter((line) => line.startsWith('{')).map((line) => JSON.parse(line) as Record<string, unknown>)
  const endpointWarnings = lines.filter((line) => String(line.msg).startsWith('BRIDGE_AUTH_ENDPOINT answered'))
  t.same(endpointWarnings.map(({ level, status, channel, cookie, msg }) => ({ level, status, channel, cookie, msg })), [
    { level: 40, status: 404, channel: 'private-wrong-path', cookie: false, msg: 'BRIDGE_AUTH_ENDPOINT answered 404 (first time; later ones at debug): wrong path: BRIDGE_AUTH_ENDPOINT must be the URL of Laravel\'s broadcasting/auth route (registered by Broadcast::routes(); `php artisan route:list` shows it)' },
    { level: 40, status: 419, channel: 'private-csrf', cookie: false, msg: 'BRIDGE_AUTH_ENDPOINT answered 419 (first time; later ones at debug): CSRF token mismatch: add \'broadcasting/auth\' to $except in app/Http/Middleware/VerifyCsrfToken.php, or have Echo send X-CSRF-TOKEN (a <meta name="csrf-token"> on the page, or Echo\'s csrfToken option)' },
    { level: 40, status: 403, channel: 'private-no-cookie', cookie: false, msg: 'BRIDGE_AUTH_ENDPOINT answered 403 (first time; later ones at debug): no cookie reached the bridge (and no bearer token): the socket.io handshake carried none. A page on another origin needs Echo\'s withCredentials: true and its origin in CORS_ORIGINS, and the session cookie must cover the bridge\'s host (SESSION_DOMAIN=.example.com); a page on another site sends no cookie (use bearerToken)' },
    { level: 40, status: 403, channel: 'private-not-yours', cookie: true, msg: 'BRIDGE_AUTH_ENDPOINT answered 403 (first time; later ones at debug): Laravel refused this user: the channel\'s callback in routes/channels.php returned false, or the session or token is not a signed-in user (normal for a user asking for a channel that is not theirs)' }
  ], 'one warning per kind, the second 404 not repeated')

  const origin = lines.find((line) => String(line.msg).startsWith('browser origin refused'))
  t.match(origin, {
    level: 40,
    origin: 'https://app.example.org',
    path: 'socket.io',
    allowed: ['https://app.example.com'],
    msg: 'browser origin refused: https://app.example.org is not in CORS_ORIGINS; add it there (scheme://host[:port], as the browser\'s address bar shows it)'
  })
  t.match(prefixWarning, {
    level: 40,
    channels: [`${app}_database_private-orders.1`],
    configured: `${app}-database-`,
    msg: `Laravel broadcasts on this Redis arrive under another prefix than BRIDGE_LARAVEL_REDIS_PREFIX="${app}-database-" (prefix "${app}_database_"?): ` +
      'none of them reaches the bridge; set BRIDGE_LARAVEL_REDIS_PREFIX to Laravel\'s config(\'database.redis.options.prefix\')'
  })

  t.notMatch(server.output().stdout, /join any room/, 'no warning that any socket may join any room: Laravel authorizes, rooms are shut')
  t.notMatch(server.output().stdout, /laravel_session=abc/, 'the cookie is never logged')
})
