// The README's Laravel code, run by PHP with Laravel's HTTP client against a real bridge:
// its tokens connect and subscribe, its signed publish is accepted and delivered.
import { execFile } from 'node:child_process'
import { existsSync } from 'node:fs'
import { mkdtemp, readFile, rm, writeFile } from 'node:fs/promises'
import { tmpdir } from 'node:os'
import { join } from 'node:path'
import { promisify } from 'node:util'
import t from 'tap'
import { connectClient, nextEvent, secrets, securedEnv, startBridge, subscribe } from './helper.ts'

const run = promisify(execFile)
const laravel = '/usr/share/php/Illuminate/autoload.php'
const guzzle = '/usr/share/php/GuzzleHttp/autoload.php'

async function phpAvailable (): Promise<boolean> {
  try {
    await run('php', ['--version'])
    return existsSync(laravel) && existsSync(guzzle)
  } catch {
    return false
  }
}

/** The README's PHP classes (`Bridge`, `BridgeToken`), exactly as documented. */
async function readmeClasses (): Promise<string> {
  const readme = await readFile(new URL('../README.md', import.meta.url), 'utf8')
  const classes = [...readme.matchAll(/```php\n\/\/ app\/Support\/\w+\.php\n(namespace App\\Support;[\s\S]*?\n}\n)/g)].map((match) => match[1])
  if (classes.length !== 2) throw new Error(`expected the Bridge and BridgeToken classes in the README, found ${classes.length}`)
  return classes.map((code) => (code ?? '').replace('namespace App\\Support;', 'namespace App\\Support {') + '}\n').join('\n')
}

const skip = await phpAvailable() ? false : 'needs php-cli, php-laravel-framework and php-guzzlehttp-guzzle (Debian packages)'

t.test('the README\'s Laravel code mints tokens the bridge accepts and publishes signed events', { skip }, async (t) => {
  const { url } = await startBridge(t, securedEnv())
  const dir = await mkdtemp(join(tmpdir(), 'bridge-laravel-'))
  t.teardown(() => rm(dir, { recursive: true, force: true }))

  // A minimal Laravel container: config('services.bridge.*') and the Http facade.
  const script = join(dir, 'bridge.php')
  await writeFile(script, `<?php
namespace {
  require '${laravel}';
  require '${guzzle}';
}
${await readmeClasses()}
namespace {
  $app = Illuminate\\Container\\Container::getInstance();
  $app->instance('config', new Illuminate\\Config\\Repository(['services' => ['bridge' => json_decode(getenv('BRIDGE_SERVICES'), true)]]));
  Illuminate\\Support\\Facades\\Facade::setFacadeApplication($app);
  if ($argv[1] === 'tokens') {
    echo json_encode([
      'connection' => App\\Support\\BridgeToken::forUser(42, ['user_42']),
      'room' => App\\Support\\BridgeToken::forRoom(42, 'chat_7'),
    ]);
  } else {
    $response = App\\Support\\Bridge::publish('/api/sms/new-message', [
      'room' => 'chat_7',
      'uuid' => 'laravel-1',
      'message' => ['id' => 1, 'text' => 'Привет из Laravel', 'from' => 42],
    ]);
    echo $response->status();
  }
}
`)
  const env = {
    PATH: process.env.PATH,
    BRIDGE_SERVICES: JSON.stringify({
      url,
      token: secrets.apiToken,
      jwt_secret: secrets.jwtSecret,
      signing_secret: secrets.signingSecret
    })
  }
  const tokens = JSON.parse((await run('php', [script, 'tokens'], { env })).stdout) as { connection: string, room: string }

  const socket = await connectClient(t, url, { auth: { token: tokens.connection } })
  t.same(await subscribe(socket, 'user_42'), { ok: true, room: 'user_42' }, 'the connection token\'s room')
  t.match(await subscribe(socket, 'chat_7'), { ok: false, error: { code: 'FORBIDDEN' } }, 'chat_7 needs its token')
  t.same(await subscribe(socket, 'chat_7', tokens.room), { ok: true, room: 'chat_7' }, 'the per-room token')

  const arrived = nextEvent(socket, 'new_message')
  t.equal((await run('php', [script, 'publish'], { env })).stdout, '202', 'the signed publish is accepted')
  t.same(await arrived, { room: 'chat_7', uuid: 'laravel-1', message: { id: 1, text: 'Привет из Laravel', from: 42 } })
})
