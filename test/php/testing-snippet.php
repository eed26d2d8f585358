<?php

// Runs the "Testing your app" snippet of examples/laravel/README.md for
// test/examples/laravel.test.ts, on Debian's Laravel 8.83 without a full application:
// RealtimeBridge is bound as the README binds it and built before Http::fake(), as a
// singleton resolved early in an application is. Reads {"binding", "snippet", "act"} on
// stdin (PHP code from the README; "act" replaces its "// ... act ..." line) and prints
// {"ok": true} or {"ok": false, "exception", "message"}.

require '/usr/share/php/Illuminate/autoload.php';
require '/usr/share/php/GuzzleHttp/autoload.php';
require __DIR__.'/../../examples/laravel/app/Services/RealtimeBridge.php';

// Http::assertSent() asserts with PHPUnit, which Debian's Laravel does not ship: the few
// assertions it calls, failing the same way.
eval(<<<'PHP'
namespace PHPUnit\Framework;
class AssertionFailedError extends \Exception {}
class Assert
{
    public static function assertTrue($condition, string $message = ''): void
    {
        if ($condition !== true) throw new AssertionFailedError($message ?: 'Failed asserting that false is true.');
    }
    public static function assertFalse($condition, string $message = ''): void
    {
        if ($condition !== false) throw new AssertionFailedError($message ?: 'Failed asserting that true is false.');
    }
    public static function assertCount(int $count, $haystack, string $message = ''): void
    {
        if (count($haystack) !== $count) throw new AssertionFailedError($message ?: "Failed asserting that the count is $count.");
    }
    public static function assertEmpty($actual, string $message = ''): void
    {
        if (! empty($actual)) throw new AssertionFailedError($message ?: 'Failed asserting that it is empty.');
    }
}
PHP);

use App\Services\RealtimeBridge;
use Illuminate\Config\Repository;
use Illuminate\Container\Container;
use Illuminate\Support\Facades\Facade;

$input = json_decode(stream_get_contents(STDIN), true, 512, JSON_THROW_ON_ERROR);

$app = Container::getInstance();
$app->instance('config', new Repository(['services' => [
    'bridge' => ['url' => 'http://bridge:3000', 'token' => 'laravel-token', 'retries' => 1],
]]));
Facade::setFacadeApplication($app);

// The README's AppServiceProvider::register(), in a provider of its own.
preg_match_all('/^use [^;]+;\s*$/m', $input['binding'], $imports);
$method = preg_replace('/^use [^;]+;\s*$/m', '', $input['binding']);
eval(implode("\n", $imports[0]).' final class SnippetServiceProvider { public function __construct(private $app) {} '.$method.' }');
(new SnippetServiceProvider($app))->register();
$app->make(RealtimeBridge::class);

try {
    eval('use Illuminate\Support\Facades\Http; '.str_replace('// ... act ...', $input['act'], $input['snippet']));
    echo json_encode(['ok' => true]), "\n";
} catch (Throwable $exception) {
    echo json_encode(['ok' => false, 'exception' => get_class($exception), 'message' => $exception->getMessage()]), "\n";
}
