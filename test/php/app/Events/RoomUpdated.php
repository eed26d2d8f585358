<?php

// A presence-channel event, broadcast on two channels at once.

namespace App\Events;

use Illuminate\Broadcasting\InteractsWithSockets;
use Illuminate\Broadcasting\PresenceChannel;
use Illuminate\Contracts\Broadcasting\ShouldBroadcastNow;

class RoomUpdated implements ShouldBroadcastNow
{
    use InteractsWithSockets;

    public function __construct(public array $roomIds, public string $topic)
    {
    }

    public function broadcastOn()
    {
        return array_map(fn ($id) => new PresenceChannel('room.'.$id), $this->roomIds);
    }
}
