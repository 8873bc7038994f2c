/**
 * The one late-frame rule. A live frame has a deadline (when it must be in the consumer's hands
 * to be of use, on the performance.now() clock); a droppable frame that cannot make it is
 * dropped, never sent late. The rule is checked where work is spent: before a model run (with
 * the time the run and the compositing after it take: batcher.ts) and once the frame is encoded
 * (renderer.ts). A frame without `droppable` (offline rendering) is never dropped; its deadline
 * only orders work, earliest first.
 */
import { LipSyncError } from "../errors.js";

export interface Schedule {
  /** When the result is wanted, ms on the performance.now() clock; earlier deadlines run first. */
  deadline?: number;
  /** Drop the frame, unrun or unsent, once its deadline cannot be met (a late live frame is worthless). */
  droppable?: boolean;
  /** Cancels the work while it waits; a running batch is not interrupted. */
  signal?: AbortSignal;
}

export const DROPPED = "frame dropped: it would arrive too late";

/**
 * A droppable frame was dropped by the late-frame rule. It never reaches a peer (the session
 * reports the pts as dropped); callers recognise it by its class.
 */
export class FrameDropped extends LipSyncError {
  constructor() {
    super("deadline_exceeded", DROPPED);
    this.name = "FrameDropped";
  }
}

/** Whether a frame on `schedule` is hopeless at `now` when it still needs `remainingMs` of work. */
export function tooLate(schedule: Schedule, now: number, remainingMs = 0): boolean {
  return schedule.droppable === true && schedule.deadline !== undefined && now + remainingMs > schedule.deadline;
}
