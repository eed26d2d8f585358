// socket.io's in-memory adapter, with the recovery hooks handed to the bridge's own recovery
// (src/transport/recovery.ts). Channel events are written by the fan-out, not broadcast here:
// what goes through `broadcast` is an event for one socket, which carries the last offset.
import { Adapter } from 'socket.io-adapter'
import type { Recovery } from './recovery.ts'

interface Packet {
  type: number
  id?: number
  data?: unknown[]
}

const EVENT = 2

export function bridgeAdapter (recovery: Recovery): typeof Adapter {
  return class BridgeAdapter extends Adapter {
    override broadcast (packet: Packet, opts: Parameters<Adapter['broadcast']>[1]): void {
      // As socket.io's own recovery does, except acknowledged packets: an offset last.
      if (packet.type === EVENT && packet.id === undefined) packet.data?.push(recovery.currentOffset())
      super.broadcast(packet, opts)
    }

    override persistSession (session: Parameters<Adapter['persistSession']>[0]): void {
      recovery.persist(session)
    }

    override restoreSession (pid: string, offset: string): ReturnType<Adapter['restoreSession']> {
      return recovery.restore(pid, offset) as unknown as ReturnType<Adapter['restoreSession']>
    }
  }
}
