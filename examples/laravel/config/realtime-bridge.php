<?php

// Settings of App\Services\RealtimeBridge. Copy into config/ and set the variables in .env.

return [
    // Where Laravel reaches the bridge (an internal address is fine: browsers use their own URL).
    'url' => env('REALTIME_BRIDGE_URL', 'http://127.0.0.1:3000'),

    // One of the bridge's BRIDGE_API_TOKEN values.
    'token' => env('REALTIME_BRIDGE_TOKEN'),

    // The bridge's BRIDGE_JWT_SECRET: signs the tokens frontends connect and subscribe with.
    'jwt_secret' => env('REALTIME_BRIDGE_JWT_SECRET'),

    // The bridge's BRIDGE_API_SIGNING_SECRET, when request signing is on; otherwise leave empty.
    'signing_secret' => env('REALTIME_BRIDGE_SIGNING_SECRET'),

    // Seconds to wait for an answer, attempts per request (1 = no retry), pause between attempts.
    'timeout' => (int) env('REALTIME_BRIDGE_TIMEOUT', 5),
    'retries' => (int) env('REALTIME_BRIDGE_RETRIES', 3),
    'retry_sleep_ms' => (int) env('REALTIME_BRIDGE_RETRY_SLEEP_MS', 200),

    // Lifetime of minted socket tokens, in seconds.
    'token_ttl' => (int) env('REALTIME_BRIDGE_TOKEN_TTL', 3600),
];
