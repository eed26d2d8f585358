<?php

namespace App\Events;

/** A whisper (client event) on a private or presence channel; sent only when BRIDGE_WEBHOOK_EVENTS lists client_event. */
class ClientEventReceived
{
    public string $channel;
    public string $event;
    /** @var mixed the whisper's data, decoded */
    public $data;
    public string $socketId;
    public ?string $userId;
    public int $atMs;

    public function __construct(string $channel, string $event, $data, string $socketId, ?string $userId, int $atMs)
    {
        $this->channel = $channel;
        $this->event = $event;
        $this->data = $data;
        $this->socketId = $socketId;
        $this->userId = $userId;
        $this->atMs = $atMs;
    }
}
