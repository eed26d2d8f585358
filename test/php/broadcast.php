<?php

// Broadcasts App\Events through Laravel's own broadcasting (Debian's php-laravel-framework 8.83
// and php-predis): the events dispatcher, BroadcastManager, RedisBroadcaster on Predis, the bus
// for ShouldBroadcastNow, and `broadcast($event)->toOthers()` reading X-Socket-ID from the
// request, as in a Laravel app. Reads {"redis": {"host", "port"}, "prefix", "broadcasts":
// [{"event": "OrderShipped", "args": [...], "socket": "1234.5678" | null}]} on stdin.

require '/usr/share/php/Illuminate/autoload.php';
require '/usr/share/php/Predis/autoload.php';
foreach (glob(__DIR__.'/app/Events/*.php') as $file) {
    require $file;
}

use Illuminate\Broadcasting\BroadcastManager;
use Illuminate\Bus\Dispatcher as BusDispatcher;
use Illuminate\Config\Repository;
use Illuminate\Container\Container;
use Illuminate\Contracts\Broadcasting\Factory as BroadcastFactory;
use Illuminate\Contracts\Bus\Dispatcher as BusDispatcherContract;
use Illuminate\Events\Dispatcher as EventDispatcher;
use Illuminate\Http\Request;
use Illuminate\Redis\RedisManager;
use Illuminate\Support\Facades\Facade;

$input = json_decode(stream_get_contents(STDIN), true, 512, JSON_THROW_ON_ERROR);

$app = new Container();
Container::setInstance($app);
Facade::setFacadeApplication($app);
$app->instance('config', new Repository([
    'broadcasting' => [
        'default' => 'redis',
        'connections' => ['redis' => ['driver' => 'redis', 'connection' => 'default']],
    ],
    'database' => ['redis' => [
        'client' => 'predis',
        // Laravel puts this before every channel name: what BRIDGE_LARAVEL_REDIS_PREFIX must say.
        'options' => ['prefix' => $input['prefix']],
        'default' => ['host' => $input['redis']['host'], 'port' => $input['redis']['port'], 'database' => 0],
    ]],
]));
$app->singleton('redis', fn ($app) => new RedisManager($app, 'predis', $app['config']['database.redis']));
$app->singleton(BroadcastFactory::class, fn ($app) => new BroadcastManager($app));
$app->singleton('events', fn ($app) => new EventDispatcher($app));
$app->singleton(BusDispatcherContract::class, fn ($app) => new BusDispatcher($app));

foreach ($input['broadcasts'] as $broadcast) {
    // The request Echo made: its X-Socket-ID is what toOthers() leaves out.
    $server = $broadcast['socket'] === null ? [] : ['HTTP_X_SOCKET_ID' => $broadcast['socket']];
    $app->instance('request', Request::create('/orders', 'POST', [], [], [], $server));
    $class = 'App\\Events\\'.$broadcast['event'];
    $pending = broadcast(new $class(...$broadcast['args']));
    if ($broadcast['socket'] !== null) {
        $pending->toOthers();
    }
    unset($pending); // PendingBroadcast dispatches when it is destroyed, as at the end of a request
}

echo json_encode(['broadcast' => count($input['broadcasts'])]), "\n";
