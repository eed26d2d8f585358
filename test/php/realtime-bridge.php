<?php

// Runs examples/laravel's RealtimeBridge for test/examples/laravel.test.ts, on Laravel's own HTTP
// client (Debian's php-laravel-framework) without a full application. Reads
// {"config": {...}, "calls": [{"method": "newMessage", "args": {"room": ...}}]} on stdin (config
// "services.php": the example's config file, reading the environment) and writes one JSON
// result per call: {"ok": true, "result": ...} or {"ok": false, "exception": ...}.

require '/usr/share/php/Illuminate/autoload.php';
require '/usr/share/php/GuzzleHttp/autoload.php';
require __DIR__.'/../../examples/laravel/app/Services/RealtimeBridge.php';

use App\Services\RealtimeBridge;
use Illuminate\Container\Container;
use Illuminate\Http\Client\RequestException;
use Illuminate\Support\Facades\Facade;

$input = json_decode(stream_get_contents(STDIN), true, 512, JSON_THROW_ON_ERROR);
$config = $input['config'] === 'services.php'
    ? (require __DIR__.'/../../examples/laravel/config/services.php')['bridge']
    : $input['config'];
// The Http facade the class sends through, resolved from a container as in an application.
Facade::setFacadeApplication(Container::getInstance());
$bridge = new RealtimeBridge($config);

$results = [];
foreach ($input['calls'] as $call) {
    try {
        $results[] = ['ok' => true, 'result' => $bridge->{$call['method']}(...$call['args'])];
    } catch (RequestException $exception) {
        $results[] = [
            'ok' => false,
            'exception' => get_class($exception),
            'status' => $exception->response->status(),
            'body' => $exception->response->json(),
        ];
    } catch (Throwable $exception) {
        $results[] = ['ok' => false, 'exception' => get_class($exception), 'message' => $exception->getMessage()];
    }
}

echo json_encode($results, JSON_UNESCAPED_UNICODE | JSON_UNESCAPED_SLASHES | JSON_THROW_ON_ERROR), "\n";
