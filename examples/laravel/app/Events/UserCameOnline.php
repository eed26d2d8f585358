<?php

namespace App\Events;

/** A user's first connection joined a presence channel (anywhere in the bridge's cluster). */
class UserCameOnline
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
