<?php

// Laravel's side of the realtime bridge: publish chat events over HTTP, read room information,
// and mint the JWTs frontends connect and subscribe with. Copy into app/Services.

namespace App\Services;

use GuzzleHttp\Exception\TransferException;
use Illuminate\Http\Client\ConnectionException;
use Illuminate\Http\Client\PendingRequest;
use Illuminate\Http\Client\RequestException;
use Illuminate\Support\Facades\Http;
use Illuminate\Support\Str;
use InvalidArgumentException;
use LogicException;
use stdClass;
use Throwable;

class RealtimeBridge
{
    /**
     * @param  array  $config  config('services.bridge'): url, token, jwt_secret, signing_secret,
     *                         and optionally timeout, retries, retry_sleep_ms, token_ttl
     */
    public function __construct(private array $config)
    {
        if (empty($config['url'])) {
            throw new InvalidArgumentException('services.bridge.url is not set (BRIDGE_URL)');
        }
    }

    /** Emits `new_message` to the room. Returns the bridge's answer: ok, event, room, uuid (and duplicate on a retry). */
    public function newMessage(string $room, array $message, ?string $uuid = null): array
    {
        return $this->publish('new-message', ['room' => $room, 'message' => $this->object($message)], $uuid);
    }

    /** Emits `edit_message`: $message is the message as it is now. */
    public function editMessage(string $room, string|int $messageId, array $message, ?string $uuid = null): array
    {
        return $this->publish('edit-message', [
            'room' => $room,
            'messageId' => $messageId,
            'message' => $this->object($message),
        ], $uuid);
    }

    /** Emits `reply_message`: $message answers the message $replyTo. */
    public function replyMessage(string $room, string|int $replyTo, array $message, ?string $uuid = null): array
    {
        return $this->publish('reply-message', [
            'room' => $room,
            'replyTo' => $replyTo,
            'message' => $this->object($message),
        ], $uuid);
    }

    /** Emits `delete_message`; $message optionally says more (who deleted it, when). */
    public function deleteMessage(string $room, string|int $messageId, ?array $message = null, ?string $uuid = null): array
    {
        $body = ['room' => $room, 'messageId' => $messageId];
        if ($message !== null) {
            $body['message'] = $this->object($message);
        }

        return $this->publish('delete-message', $body, $uuid);
    }

    /** Emits `status_update` (sent, delivered, read, ...). */
    public function statusUpdate(string $room, string|int $messageId, string $status, ?string $uuid = null): array
    {
        return $this->publish('status-update', ['room' => $room, 'messageId' => $messageId, 'status' => $status], $uuid);
    }

    /**
     * Publishes up to 100 events in one request, in order. Each item is
     * ['type' => 'new-message', 'room' => ..., ...fields of that kind]; items without a uuid get
     * one here, so a retried batch emits nothing twice. Returns ['ok' => true, 'results' => [...]].
     */
    public function batch(array $events): array
    {
        $items = [];
        foreach ($events as $event) {
            if (isset($event['message']) && is_array($event['message'])) {
                $event['message'] = $this->object($event['message']);
            }
            $event['uuid'] ??= (string) Str::uuid();
            $items[] = $event;
        }

        return $this->send('POST', '/api/sms/batch', ['events' => $items]);
    }

    /** Who is in a room, across the whole cluster: ['room' => ..., 'subscribers' => n, 'users' => n]. */
    public function roomInfo(string $room): array
    {
        return $this->send('GET', '/api/rooms/'.rawurlencode($room));
    }

    /**
     * The token a frontend connects with: io(url, { auth: { token } }). $rooms lists the rooms the
     * user may join ('chat_*' allows every room starting with chat_); null leaves the claim out,
     * so only per-room tokens open rooms. $userInfo is what Echo's presence channels show of the
     * user (here(), joining(), leaving()), e.g. ['name' => $user->name].
     */
    public function connectionToken(string|int $userId, ?array $rooms = null, ?int $ttl = null, ?array $userInfo = null): string
    {
        $claims = ['sub' => (string) $userId];
        if ($rooms !== null) {
            $claims['rooms'] = array_values($rooms);
        }
        if ($userInfo !== null) {
            // An object even when empty: [] would encode as a JSON array.
            $claims['user_info'] = (object) $userInfo;
        }

        return $this->jwt($claims, $ttl);
    }

    /** A token granting one room: socket.emit('subscribe', { room, token }). */
    public function roomToken(string|int $userId, string $room, ?int $ttl = null): string
    {
        return $this->jwt(['sub' => (string) $userId, 'room' => $room], $ttl);
    }

    private function publish(string $kind, array $body, ?string $uuid): array
    {
        // Made once, before the first attempt: every retry carries the same uuid, and the
        // bridge answers a repeat with `duplicate: true` instead of emitting it again.
        $body['uuid'] = $uuid ?? (string) Str::uuid();

        return $this->send('POST', "/api/sms/{$kind}", $body);
    }

    /**
     * Sends one request (retried on connection failures, 429 and 5xx) and returns its JSON answer.
     *
     * @throws RequestException when the bridge refuses it (4xx) or keeps failing (5xx)
     * @throws ConnectionException when the bridge cannot be reached
     */
    private function send(string $method, string $path, ?array $body = null): array
    {
        // The exact bytes sent are the bytes signed.
        $json = $body === null ? '' : json_encode($body, JSON_UNESCAPED_UNICODE | JSON_UNESCAPED_SLASHES | JSON_THROW_ON_ERROR);
        $request = $this->request();
        if (! empty($this->config['signing_secret'])) {
            // Signed: timestamp, method, the path as the bridge receives it (with the URL's own
            // path, if any), and body, so the signature is good for this one request only. A
            // retry carries the same signature: the bridge answers it as a duplicate if the
            // first attempt got through.
            $timestamp = (string) time();
            $target = (parse_url(rtrim($this->config['url'], '/'), PHP_URL_PATH) ?? '').$path;
            $signed = $timestamp."\n".$method."\n".$target."\n".$json;
            $request->withHeaders([
                'X-Bridge-Timestamp' => $timestamp,
                'X-Bridge-Signature' => 'sha256='.hash_hmac('sha256', $signed, $this->config['signing_secret']),
            ]);
        }

        $response = $method === 'GET'
            ? $request->get($path)
            : $request->withBody($json, 'application/json')->send($method, $path);

        return $response->throw()->json();
    }

    private function request(): PendingRequest
    {
        // Through the facade at each call, not a Factory kept since construction: a singleton
        // built before Http::fake() would otherwise keep sending real requests in your tests.
        $request = Http::baseUrl(rtrim($this->config['url'], '/'))
            ->acceptJson()
            ->timeout((int) ($this->config['timeout'] ?? 5))
            ->retry(
                max(1, (int) ($this->config['retries'] ?? 3)),
                (int) ($this->config['retry_sleep_ms'] ?? 200),
                fn (Throwable $exception) => $this->worthRetrying($exception),
            );

        return empty($this->config['token']) ? $request : $request->withToken($this->config['token']);
    }

    /** A lost connection or an overloaded bridge may pass; a refused request will not. */
    private function worthRetrying(Throwable $exception): bool
    {
        if ($exception instanceof RequestException) {
            $status = $exception->response->status();

            return $status === 429 || $status >= 500;
        }

        return $exception instanceof ConnectionException || $exception instanceof TransferException;
    }

    /** A message is a JSON object, even when empty (json_encode turns [] into a list). */
    private function object(array $message): array|stdClass
    {
        return $message === [] ? new stdClass() : $message;
    }

    private function jwt(array $claims, ?int $ttl): string
    {
        $secret = $this->config['jwt_secret'] ?? '';
        if ($secret === '') {
            throw new LogicException('services.bridge.jwt_secret is not set (BRIDGE_JWT_SECRET, the same as the bridge\'s)');
        }
        $now = time();
        $claims += ['iat' => $now, 'exp' => $now + ($ttl ?? (int) ($this->config['token_ttl'] ?? 3600))];

        $segments = [
            $this->base64url(json_encode(['alg' => 'HS256', 'typ' => 'JWT'])),
            $this->base64url(json_encode($claims, JSON_UNESCAPED_UNICODE | JSON_UNESCAPED_SLASHES | JSON_THROW_ON_ERROR)),
        ];
        $segments[] = $this->base64url(hash_hmac('sha256', implode('.', $segments), $secret, true));

        return implode('.', $segments);
    }

    private function base64url(string $bytes): string
    {
        return rtrim(strtr(base64_encode($bytes), '+/', '-_'), '=');
    }
}
