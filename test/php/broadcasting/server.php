<?php

// Laravel's /broadcasting/auth for test/examples/laravel-broadcasting-auth.test.ts, under
// `php -S 127.0.0.1:<port> server.php`: Debian's Laravel 8.83 answering through
// BroadcastManager and RedisBroadcaster::auth(), as BroadcastController does, with the channel
// rules of channels.php. Users come from a session cookie (with its CSRF token, as Laravel's
// VerifyCsrfToken middleware requires) or from a bearer token (an API guard such as Sanctum).
// Each request is appended as a JSON line to the file named by BROADCASTING_AUTH_LOG, with the
// client address Laravel sees: TRUSTED_PROXIES (comma-separated) are trusted as the app's
// TrustProxies middleware would trust them.

error_reporting(E_ALL & ~E_DEPRECATED);
ini_set('display_errors', '0');

require '/usr/share/php/Illuminate/autoload.php';

use Illuminate\Auth\GenericUser;
use Illuminate\Broadcasting\BroadcastManager;
use Illuminate\Config\Repository;
use Illuminate\Container\Container;
use Illuminate\Http\Request;
use Illuminate\Redis\RedisManager;
use Illuminate\Support\Facades\Broadcast;
use Illuminate\Support\Facades\Facade;
use Symfony\Component\HttpKernel\Exception\HttpException;

// Sessions (laravel_session cookie => user and CSRF token) and API tokens of the app.
const USERS = [1 => ['id' => 1, 'name' => 'Ann'], 2 => ['id' => 2, 'name' => 'Bob']];
const SESSIONS = ['session-of-ann' => ['user' => 1, 'csrf' => 'csrf-of-ann']];
const API_TOKENS = ['api-token-of-bob' => 2];

$request = Request::capture();
$trustedProxies = (string) getenv('TRUSTED_PROXIES');
if ($trustedProxies !== '') {
    // app/Http/Middleware/TrustProxies.php with `protected $proxies = [...]`.
    $trustProxies = new class (explode(',', $trustedProxies)) extends \Illuminate\Http\Middleware\TrustProxies {
        public function __construct(array $proxies)
        {
            $this->proxies = $proxies;
        }
    };
    $trustProxies->handle($request, fn ($request) => null);
}
file_put_contents((string) getenv('BROADCASTING_AUTH_LOG'), json_encode([
    'ip' => $request->ip(),
    'method' => $request->getMethod(),
    'path' => $request->getPathInfo(),
    'headers' => array_map(fn ($values) => implode(', ', $values), $request->headers->all()),
    'form' => $request->request->all(),
]) . "\n", FILE_APPEND | LOCK_EX);

$app = new Container();
Container::setInstance($app);
$app->instance('config', new Repository([
    'broadcasting' => ['default' => 'redis', 'connections' => ['redis' => ['driver' => 'redis', 'connection' => 'default']]],
    'database' => ['redis' => ['client' => 'predis', 'options' => ['prefix' => 'laravel_database_'], 'default' => ['host' => '127.0.0.1', 'port' => 6379]]],
]));
// Not connected unless something is published; authorization only reads the request.
$app->singleton('redis', fn ($app) => new RedisManager($app, 'predis', $app['config']['database.redis']));
$app->singleton(BroadcastManager::class, fn ($app) => new BroadcastManager($app));
$app->alias(BroadcastManager::class, \Illuminate\Contracts\Broadcasting\Factory::class);
Facade::setFacadeApplication($app);

require __DIR__ . '/channels.php';

$request->setUserResolver(function () use ($request) {
    $session = SESSIONS[$request->cookie('laravel_session')] ?? null;
    if ($session !== null) {
        return new GenericUser(USERS[$session['user']]);
    }
    $tokenUser = API_TOKENS[$request->bearerToken()] ?? null;
    return $tokenUser === null ? null : new GenericUser(USERS[$tokenUser]);
});

function answer(int $status, string $body, string $type = 'text/html; charset=UTF-8'): void
{
    http_response_code($status);
    header("Content-Type: $type");
    echo $body;
}

if ($request->getMethod() !== 'POST' || $request->getPathInfo() !== '/broadcasting/auth') {
    answer(404, '{"message":"Not Found"}', 'application/json');
    return;
}
// VerifyCsrfToken: a request authenticated by its session cookie must carry the session's token.
$session = SESSIONS[$request->cookie('laravel_session')] ?? null;
if ($session !== null && !hash_equals($session['csrf'], (string) $request->header('X-CSRF-TOKEN'))) {
    answer(419, '{"message":"CSRF token mismatch."}', 'application/json');
    return;
}
try {
    // BroadcastController::authenticate(): a string, sent as text/html like any string response.
    answer(200, (string) Broadcast::auth($request));
} catch (HttpException $exception) {
    answer($exception->getStatusCode(), '{"message":""}', 'application/json');
}
