// The slow-socket cut, one rule for every write of every protocol: a connection that does not
// read what it is sent is closed, what waits for it discarded, once more than
// BRIDGE_MAX_BUFFERED_BYTES would wait for it (events, acks, member lists alike).

/** About how many bytes a packet's data takes (its text, or its binary attachment). */
export function dataSize (data: unknown): number {
  if (typeof data === 'string') return data.length
  return ArrayBuffer.isView(data) ? data.byteLength : 0
}

export interface SlowSocketCutOptions<Connection, Socket> {
  /** Past this many waiting bytes a connection is cut; 0 never. */
  maxBufferedBytes: number
  /** Closes the connection, dropping what waits: waiting for it to drain is what a slow reader never lets happen. */
  discard: (connection: Connection) => void
  /** Called for each connection cut, before it is closed, with its socket when the write knew it. */
  onCut: (connection: Connection, socket?: Socket) => void
}

export function createSlowSocketCut<Connection, Socket> ({ maxBufferedBytes, discard, onCut }: SlowSocketCutOptions<Connection, Socket>) {
  return {
    /** False when no budget is set: then nothing is ever cut, and nothing needs counting. */
    enabled: maxBufferedBytes > 0,
    /** Cuts the connection when `bytes` more on top of `waiting` would pass the budget; true when it did. */
    cutIfOver (connection: Connection, waiting: number, bytes: number, socket?: Socket): boolean {
      if (maxBufferedBytes <= 0 || waiting + bytes <= maxBufferedBytes) return false
      onCut(connection, socket)
      discard(connection)
      return true
    }
  }
}

export type SlowSocketCut<Connection, Socket> = ReturnType<typeof createSlowSocketCut<Connection, Socket>>
