<?php

namespace App\Http\Controllers;

use App\Events\ChannelOccupied;
use App\Events\ChannelVacated;
use App\Events\ClientEventReceived;
use App\Events\UserCameOnline;
use App\Events\UserWentOffline;
use Illuminate\Contracts\Events\Dispatcher;
use Illuminate\Http\Request;
use Illuminate\Http\Response;

/**
 * The bridge's webhooks (Pusher's format): checks the signature over the raw body with the
 * Pusher app's secret, then dispatches one Laravel event per webhook event, in order.
 *
 * Route (outside the `web` middleware group's CSRF check, or listed in VerifyCsrfToken::$except):
 *     Route::post('/pusher/webhooks', \App\Http\Controllers\PusherWebhookController::class);
 *
 * Delivery is at least once: a listener may see an event twice, so make it idempotent.
 */
class PusherWebhookController
{
    private Dispatcher $events;
    private string $key;
    private string $secret;

    public function __construct(Dispatcher $events, ?string $key = null, ?string $secret = null)
    {
        $this->events = $events;
        $this->key = $key ?? (string) config('broadcasting.connections.pusher.key');
        $this->secret = $secret ?? (string) config('broadcasting.connections.pusher.secret');
    }

    public function __invoke(Request $request): Response
    {
        $body = $request->getContent();
        $expected = hash_hmac('sha256', $body, $this->secret);
        $signature = (string) $request->header('X-Pusher-Signature', '');
        if ($this->secret === '' || !hash_equals($this->key, (string) $request->header('X-Pusher-Key', '')) || !hash_equals($expected, $signature)) {
            return new Response('invalid signature', 401);
        }

        $payload = json_decode($body, true);
        if (!is_array($payload) || !is_array($payload['events'] ?? null)) {
            return new Response('not a webhook', 400);
        }
        $at = (int) ($payload['time_ms'] ?? 0);

        foreach ($payload['events'] as $event) {
            $channel = (string) ($event['channel'] ?? '');
            switch ($event['name'] ?? '') {
                case 'member_added':
                    $this->events->dispatch(new UserCameOnline($channel, (string) $event['user_id'], $at));
                    break;
                case 'member_removed':
                    $this->events->dispatch(new UserWentOffline($channel, (string) $event['user_id'], $at));
                    break;
                case 'channel_occupied':
                    $this->events->dispatch(new ChannelOccupied($channel, $at));
                    break;
                case 'channel_vacated':
                    $this->events->dispatch(new ChannelVacated($channel, $at));
                    break;
                case 'client_event':
                    $this->events->dispatch(new ClientEventReceived(
                        $channel,
                        (string) $event['event'],
                        json_decode((string) ($event['data'] ?? 'null'), true),
                        (string) ($event['socket_id'] ?? ''),
                        isset($event['user_id']) ? (string) $event['user_id'] : null,
                        $at
                    ));
                    break;
            }
        }

        return new Response('', 200);
    }
}
