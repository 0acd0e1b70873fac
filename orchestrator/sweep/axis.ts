/**
 * A sweep's load axis as people read it (pure): the name its tables, diagrams and
 * sweep.json give it. `loadKey` stays the scenario's key (peers, offeredLoad or a
 * setting); the label says what the numbers are.
 */
import { OFFERED_LOAD, OFFERED_LOAD_LABEL } from '../scenario/offered-load.ts'

export function loadAxisLabel (key: string): string {
  return key === OFFERED_LOAD ? OFFERED_LOAD_LABEL : key
}
