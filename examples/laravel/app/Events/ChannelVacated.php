<?php

namespace App\Events;

/** A channel lost its last subscriber. */
class ChannelVacated
{
    public string $channel;
    /** When it happened, in ms since the epoch (the webhook's time_ms). */
    public int $atMs;

    public function __construct(string $channel, int $atMs)
    {
        $this->channel = $channel;
        $this->atMs = $atMs;
    }
}
