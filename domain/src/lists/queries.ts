import type { UserId } from '../shared/ids.js';
import { roundQty } from '../shared/quantity.js';
import type { ListsState, MovementList } from './state.js';

/** Read-side helpers for the supervisor's board and the operator's "my lists". */

export interface ListProgress {
  readonly lines: number;
  /** Lines done or over. */
  readonly linesDone: number;
  readonly planned: number;
  /** Net of reversals, over-deliveries included. */
  readonly confirmed: number;
  /** Still to confirm: the shortfall of each line; 0 once the list is closed (the rest is cancelled). */
  readonly open: number;
  /**
   * Share of the plan covered, 0–100, rounded down: a line counts at most its planned
   * quantity, so an over-delivery on one line never hides a shortfall on another.
   */
  readonly percent: number;
}

export function listProgress(list: MovementList): ListProgress {
  let planned = 0;
  let confirmed = 0;
  let covered = 0;
  let linesDone = 0;
  for (const l of list.lines) {
    planned += l.planned;
    confirmed += l.confirmed;
    covered += Math.min(Math.max(l.confirmed, 0), l.planned);
    if (l.status === 'done' || l.status === 'over') linesDone++;
  }
  planned = roundQty(planned);
  covered = roundQty(covered);
  const open = list.status === 'closed' ? 0 : roundQty(planned - covered);
  return {
    lines: list.lines.length,
    linesDone,
    planned,
    confirmed: roundQty(confirmed),
    open,
    // The epsilon keeps 6 + 4 of 10 at 100 when float sums land a hair below.
    percent: planned > 0 ? Math.min(100, Math.floor((covered / planned) * 100 + 1e-9)) : 100,
  };
}

const byDueThenCode = (a: MovementList, b: MovementList): number => {
  if (a.dueOn !== b.dueOn) {
    if (a.dueOn === null) return 1;
    if (b.dueOn === null) return -1;
    return a.dueOn < b.dueOn ? -1 : 1;
  }
  return a.code < b.code ? -1 : a.code > b.code ? 1 : 0;
};

/** Lists assigned to the user with work left (open or in progress), the most urgent first. */
export function openListsOf(state: ListsState, userId: UserId): MovementList[] {
  const out: MovementList[] = [];
  for (const list of state.lists.values()) {
    if (list.assignee === userId && (list.status === 'open' || list.status === 'in-progress'))
      out.push(list);
  }
  return out.sort(byDueThenCode);
}
