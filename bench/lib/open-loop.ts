// The open-loop schedule of the latency runs: proposals arrive at a constant total rate, set by a
// clock and not by the node's answers, dealt round-robin to the lanes (channels). Arrival k of the
// whole run is due at start + k / rate and belongs to lane k mod lanes, so lane l's n-th proposal is
// arrival n·lanes + l. A lane whose previous proposal is still unanswered when the next is due sends
// it late; its latency is still counted from the time it was due, so queueing shows in the
// percentiles instead of being hidden by the late send ("coordinated omission").

export class ScheduleError extends Error {
  readonly code = "INVALID_SCHEDULE";
  constructor(message: string) {
    super(message);
    this.name = "ScheduleError";
  }
}

export interface OpenLoopSchedule {
  /** Proposals per second over all lanes together. */
  readonly ratePerSecond: number;
  readonly lanes: number;
  /** When arrival 0 is due (performance.now() milliseconds). */
  readonly startMs: number;
}

export function openLoopSchedule(ratePerSecond: number, lanes: number, startMs: number): OpenLoopSchedule {
  if (!Number.isFinite(ratePerSecond) || ratePerSecond <= 0) throw new ScheduleError(`the rate must be a positive number of proposals per second, got ${ratePerSecond}`);
  if (!Number.isSafeInteger(lanes) || lanes < 1) throw new ScheduleError(`the lanes must be a positive integer, got ${lanes}`);
  if (!Number.isFinite(startMs)) throw new ScheduleError(`the start must be a finite time, got ${startMs}`);
  return { ratePerSecond, lanes, startMs };
}

/** When lane `lane`'s `n`-th proposal (0-based) is due, in milliseconds. */
export function dueAt(schedule: OpenLoopSchedule, lane: number, n: number): number {
  if (!Number.isSafeInteger(lane) || lane < 0 || lane >= schedule.lanes) throw new ScheduleError(`lane ${lane} is not one of ${schedule.lanes}`);
  if (!Number.isSafeInteger(n) || n < 0) throw new ScheduleError(`proposal index ${n} is not a non-negative integer`);
  return schedule.startMs + ((n * schedule.lanes + lane) * 1000) / schedule.ratePerSecond;
}

/** How many of lane `lane`'s proposals are due at or before `atMs`: what the lane sends up to then. */
export function laneDueBy(schedule: OpenLoopSchedule, lane: number, atMs: number): number {
  if (!Number.isSafeInteger(lane) || lane < 0 || lane >= schedule.lanes) throw new ScheduleError(`lane ${lane} is not one of ${schedule.lanes}`);
  if (!Number.isFinite(atMs)) throw new ScheduleError(`the time must be finite, got ${atMs}`);
  const arrivals = ((atMs - schedule.startMs) * schedule.ratePerSecond) / 1000;
  if (arrivals < lane) return 0;
  let n = Math.floor((arrivals - lane) / schedule.lanes) + 1;
  // The division may round across a due time: settle it against dueAt itself.
  while (n > 0 && dueAt(schedule, lane, n - 1) > atMs) n -= 1;
  while (dueAt(schedule, lane, n) <= atMs) n += 1;
  return n;
}

/** How many arrivals are due at or before `atMs` (all lanes together). */
export function arrivalsDueBy(schedule: OpenLoopSchedule, atMs: number): number {
  if (atMs < schedule.startMs) return 0;
  return Math.floor(((atMs - schedule.startMs) * schedule.ratePerSecond) / 1000) + 1;
}

/** Each lane's interval between its own proposals, ms: a lane's round trip above it makes that lane fall behind. */
export function laneIntervalMs(schedule: OpenLoopSchedule): number {
  return (schedule.lanes * 1000) / schedule.ratePerSecond;
}

/** The offered rates of the latency runs: `fractions` of the measured maximum, whole proposals per second. */
export function targetRates(maxPerSecond: number, fractions: readonly number[]): number[] {
  if (!Number.isFinite(maxPerSecond) || maxPerSecond <= 0) throw new ScheduleError(`the maximum rate must be positive, got ${maxPerSecond}`);
  return fractions.map((fraction) => {
    if (!Number.isFinite(fraction) || fraction <= 0 || fraction > 1) throw new ScheduleError(`a load fraction must be in (0, 1], got ${fraction}`);
    return Math.max(1, Math.round(maxPerSecond * fraction));
  });
}
