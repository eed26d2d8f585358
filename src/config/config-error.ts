// The one error a bad configuration gives.

/** A configuration problem; its message is the one line printed before exiting. */
export class ConfigError extends Error {
  override name = 'ConfigError'
}
