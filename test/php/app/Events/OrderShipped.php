<?php

// A public-channel event as a Laravel app writes one: its public properties are the payload,
// its class name is the event name.

namespace App\Events;

use Illuminate\Broadcasting\Channel;
use Illuminate\Broadcasting\InteractsWithSockets;
use Illuminate\Contracts\Broadcasting\ShouldBroadcastNow;

class OrderShipped implements ShouldBroadcastNow
{
    use InteractsWithSockets;

    public array $order;

    public function __construct(array $order)
    {
        $this->order = $order;
    }

    public function broadcastOn()
    {
        return new Channel('orders.'.$this->order['id']);
    }
}
