// The socket.io adapter of the bridge: socket.io's in-memory adapter (rooms and membership on
// this node), with the recovery hooks socket.io offers adapters handed to the bridge's own
// recovery (src/transport/recovery.ts). Events for channels are not broadcast through it: the
// transport writes them (src/transport/fan-out.ts); what goes through `broadcast` is an event
// for one socket (`socket.emit`), which carries the offset of the last applied event.
import { Adapter } from 'socket.io-adapter'
import type { Recovery } from './recovery.ts'

interface Packet {
  type: number
  id?: number
  data?: unknown[]
}

const EVENT = 2

/** The adapter class socket.io instantiates per namespace (the bridge serves one). */
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
