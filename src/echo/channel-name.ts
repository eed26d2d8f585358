// Laravel Echo channel names: what a name may be, and the kind its prefix makes it.

/** 1-164 characters of A-Z a-z 0-9 _ - = @ , . ; : (Pusher's rule, which Laravel follows). */
export const CHANNEL_PATTERN = /^[A-Za-z0-9_\-=@,.;:]{1,164}$/

export type ChannelKind = 'public' | 'private' | 'presence'

export function validChannelName (name: string): boolean {
  return CHANNEL_PATTERN.test(name)
}

/** `presence-…` and `private-…` need authorization; any other name is public. */
export function channelKind (name: string): ChannelKind {
  if (name.startsWith('presence-')) return 'presence'
  if (name.startsWith('private-')) return 'private'
  return 'public'
}
