// Webhook events in Pusher's format (contract section 7), and the collector that turns the
// cluster's channel and presence changes, as each node applies the bus, into them: every node
// derives the same events at the same bus positions, so one of them can send them for all.
import type { Position } from '../backplane/positions.ts'

export type WebhookEvent =
  | { name: 'channel_occupied' | 'channel_vacated', channel: string }
  | { name: 'member_added' | 'member_removed', channel: string, user_id: string }
  | { name: 'client_event', channel: string, event: string, data: string, socket_id: string, user_id?: string }

export type WebhookEventName = WebhookEvent['name']

/** A whisper as the bus carries it to the webhook collector of every node. */
export interface ClientEventNote {
  channel: string
  event: string
  /** The whisper's data as JSON text. */
  data: string
  socketId: string
  userId?: string
}

/** Where derived events go: the deployment's log of undelivered webhooks. */
export type AppendWebhooks = (position: Position, events: WebhookEvent[]) => void

export function createWebhookCollector (enabled: ReadonlySet<WebhookEventName>, append: AppendWebhooks) {
  let collected: WebhookEvent[] = []

  function add (event: WebhookEvent): void {
    if (enabled.has(event.name)) collected.push(event)
  }

  return {
    /** False when nothing is sent: callers skip the work of tracking occupancy. */
    enabled: enabled.size > 0,
    wantsClientEvents: enabled.has('client_event'),
    occupied: (channel: string) => add({ name: 'channel_occupied', channel }),
    vacated: (channel: string) => add({ name: 'channel_vacated', channel }),
    member: (channel: string, user: string, present: boolean) => add({ name: present ? 'member_added' : 'member_removed', channel, user_id: user }),
    clientEvents (notes: readonly ClientEventNote[]): void {
      for (const { channel, event, data, socketId, userId } of notes) {
        add({ name: 'client_event', channel, event, data, socket_id: socketId, ...(userId !== undefined && { user_id: userId }) })
      }
    },
    /** The bus entry at `position` is applied: what it caused is appended under its position. */
    applied (position: Position): void {
      if (collected.length === 0) return
      const events = collected
      collected = []
      append(position, events)
    }
  }
}

export type WebhookCollector = ReturnType<typeof createWebhookCollector>
