<?php

// The `bridge` entry of config/services.php, which App\Services\RealtimeBridge reads: merge it
// into your config/services.php. Its values come from .env: the bridge's own secrets.

return [
    // ... your other services ...

    'bridge' => [
        // How Laravel reaches the bridge (an internal address is fine), and what browsers connect to.
        'url' => env('BRIDGE_URL', 'http://localhost:3000'),
        'public_url' => env('BRIDGE_PUBLIC_URL', 'http://localhost:3000'),

        // One of the bridge's BRIDGE_API_TOKEN values.
        'token' => env('BRIDGE_API_TOKEN'),

        // The bridge's BRIDGE_JWT_SECRET: signs the tokens frontends connect and subscribe with.
        'jwt_secret' => env('BRIDGE_JWT_SECRET'),

        // The bridge's BRIDGE_API_SIGNING_SECRET, only when the bridge has it.
        'signing_secret' => env('BRIDGE_API_SIGNING_SECRET'),

        // Optional: seconds to wait for an answer, attempts per request (1 = no retry), pause
        // between attempts, lifetime of minted socket tokens in seconds.
        'timeout' => 5,
        'retries' => 3,
        'retry_sleep_ms' => 200,
        'token_ttl' => 3600,
    ],
];
