/** File names in a peer's state directory: written by the orchestrator at `up`, read by the peer. */
export const IDENTITY_FILE = 'identity.key'
export const CREDENTIALS_FILE = 'credentials.json'
export const HOST_CACHE_FILE = 'hostcache.json'
/** Boot count: the incarnation. */
export const BOOTS_FILE = 'boots'
