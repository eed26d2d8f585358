// The slow-socket cut, one rule for every write of every protocol: a connection that does not
// read what it is sent is closed, what waits for it discarded, once more than
// BRIDGE_MAX_BUFFERED_BYTES would wait for it (events, acks, member lists alike).

export function dataSize (data: unknown): number {
  if (typeof data === 'string') return data.length
  return ArrayBuffer.isView(data) ? data.byteLength : 0
}

export interface SlowSocketCutOptions<Connection, Socket> {
  maxBufferedBytes: number
  /** Closes the connection, dropping what waits: a slow reader never lets it drain. */
  discard: (connection: Connection) => void
  onCut: (connection: Connection, socket?: Socket) => void
}

export function createSlowSocketCut<Connection, Socket> ({ maxBufferedBytes, discard, onCut }: SlowSocketCutOptions<Connection, Socket>) {
  return {
    enabled: maxBufferedBytes > 0,
    cutIfOver (connection: Connection, waiting: number, bytes: number, socket?: Socket): boolean {
      if (maxBufferedBytes <= 0 || waiting + bytes <= maxBufferedBytes) return false
      onCut(connection, socket)
      discard(connection)
      return true
    }
  }
}

export type SlowSocketCut<Connection, Socket> = ReturnType<typeof createSlowSocketCut<Connection, Socket>>
