// ws's receiver lets go of the last frame's mask once the frame is unmasked. Every frame a client
// sends is masked, and ws keeps the 4-byte mask as a view of the chunk the frame was read in
// (a Buffer, its ArrayBuffer and that chunk: about 240 bytes) until the next frame replaces it;
// an idle connection's last frame (its last Engine.IO pong) is held that way for its life.
// Patches ws's `Receiver.prototype.dataMessage`, which ws calls once a data frame is unmasked:
// the mask is cleared before it runs (a control frame keeps it; the next frame sets its own).
// Checked at start.
import fp from 'fastify-plugin'
import * as ws from 'ws'

interface ReceiverInternals {
  _mask?: unknown
  dataMessage: (this: ReceiverInternals, ...args: unknown[]) => unknown
  getMask?: unknown
}

const { Receiver } = ws as unknown as { Receiver: { new (): ReceiverInternals, prototype: ReceiverInternals } }
const receiverPrototype = Receiver.prototype

export function frameMaskProblems (): string[] {
  const receiver = new Receiver()
  return typeof receiverPrototype.dataMessage === 'function' && typeof receiverPrototype.getMask === 'function' && '_mask' in receiver
    ? []
    : ['ws\'s Receiver keeps the last frame\'s mask in `_mask` and handles an unmasked data frame in `dataMessage`']
}

const released = Symbol('frame mask released')

/** Applies the patch once per process (ws is one module, whatever number of bridges run in it). */
export function releaseFrameMasks (): void {
  const original = receiverPrototype.dataMessage as ReceiverInternals['dataMessage'] & { [released]?: true }
  if (original[released] === true) return
  const dataMessage = function (this: ReceiverInternals, ...args: unknown[]): unknown {
    this._mask = undefined
    return original.apply(this, args)
  }
  receiverPrototype.dataMessage = Object.assign(dataMessage, { [released]: true as const })
}

export default fp(async function frameMask () {
  releaseFrameMasks()
}, {
  name: 'frame-mask',
  dependencies: ['self-check']
})
