<?php

// The app's channel rules, written as in a Laravel app's routes/channels.php.

use Illuminate\Support\Facades\Broadcast;

// Members of a chat: chat id => user ids.
const CHAT_MEMBERS = ['1' => [1, 2], '2' => [2]];

Broadcast::channel('chat.{chatId}', function ($user, $chatId) {
    return in_array((int) $user->id, CHAT_MEMBERS[$chatId] ?? [], true);
});

Broadcast::channel('room.{roomId}', function ($user, $roomId) {
    if ($roomId === 'closed') {
        return false;
    }

    return ['id' => $user->id, 'name' => $user->name];
});
