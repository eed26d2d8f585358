<?php

namespace App\Events;

/** A user's last connection left a presence channel (after the bridge's grace for dropped connections). */
class UserWentOffline
{
    public string $channel;
    public string $userId;
    /** When it happened, in ms since the epoch (the webhook's time_ms). */
    public int $atMs;

    public function __construct(string $channel, string $userId, int $atMs)
    {
        $this->channel = $channel;
        $this->userId = $userId;
        $this->atMs = $atMs;
    }
}
