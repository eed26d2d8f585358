// Connections handshaken but not yet authenticated: counted globally and per client address,
// so a flood of anonymous handshakes is refused before it costs memory.

export type PendingCap = 'global' | 'address'

export class PendingConnections {
  readonly #addresses = new Map<string, number>()
  readonly #connections = new Map<object, string | undefined>()

  readonly max: number
  readonly maxPerAddress: number

  constructor (max: number, maxPerAddress: number) {
    this.max = max
    this.maxPerAddress = maxPerAddress
  }

  get size (): number {
    return this.#connections.size
  }

  /** The cap a new handshake from `address` (undefined: unknown) would pass, if any. */
  full (address: string | undefined): PendingCap | undefined {
    if (this.#connections.size >= this.max) return 'global'
    if (address !== undefined && (this.#addresses.get(address) ?? 0) >= this.maxPerAddress) return 'address'
    return undefined
  }

  has (connection: object): boolean {
    return this.#connections.has(connection)
  }

  add (connection: object, address: string | undefined): void {
    this.#connections.set(connection, address)
    if (address !== undefined) this.#addresses.set(address, (this.#addresses.get(address) ?? 0) + 1)
  }

  settle (connection: object): void {
    if (!this.#connections.has(connection)) return
    const address = this.#connections.get(connection)
    this.#connections.delete(connection)
    if (address === undefined) return
    const count = (this.#addresses.get(address) ?? 1) - 1
    if (count <= 0) this.#addresses.delete(address)
    else this.#addresses.set(address, count)
  }
}
