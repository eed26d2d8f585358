<?php

// A private-channel event with its own name (broadcastAs) and payload (broadcastWith).

namespace App\Events;

use Illuminate\Broadcasting\InteractsWithSockets;
use Illuminate\Broadcasting\PrivateChannel;
use Illuminate\Contracts\Broadcasting\ShouldBroadcastNow;

class MessageSent implements ShouldBroadcastNow
{
    use InteractsWithSockets;

    public function __construct(public int $chatId, public array $message)
    {
    }

    public function broadcastOn()
    {
        return new PrivateChannel('chat.'.$this->chatId);
    }

    public function broadcastAs()
    {
        return 'message.sent';
    }

    public function broadcastWith()
    {
        return ['message' => $this->message];
    }
}
