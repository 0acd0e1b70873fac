/** Unsigned LEB128 varints, the length prefix of every frame (pure: no I/O). */

/** The bytes of `n` as an unsigned varint. */
export function varintPrefix (n: number): number[] {
  if (!Number.isSafeInteger(n) || n < 0) throw new RangeError(`${n} is not a length`)
  const out: number[] = []
  while (n >= 0x80) {
    out.push((n % 0x80) | 0x80)
    n = Math.floor(n / 0x80)
  }
  out.push(n)
  return out
}

/** The longest prefix a frame of at most `maxBytes` needs: any longer one is refused unread. */
export function prefixBytesMax (maxBytes: number): number {
  return varintPrefix(maxBytes).length
}
