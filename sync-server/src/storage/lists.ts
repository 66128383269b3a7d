import type { ListLine, ListRecord, MovementList } from '@floorsync/domain';

/** What adapters share about lists: their order, and a list as a snapshot entry. */

/** Due date first (lists without one last), then code. */
export const byDueThenCode = (a: ListRecord, b: ListRecord): number => {
  if (a.dueOn !== b.dueOn) {
    if (a.dueOn === null) return 1;
    if (b.dueOn === null) return -1;
    return a.dueOn < b.dueOn ? -1 : 1;
  }
  return a.code < b.code ? -1 : a.code > b.code ? 1 : 0;
};

/** An open list as devices get it in a snapshot (`s/list/<id>`): header, counters, lines. */
export const listValue = (record: ListRecord, lines: readonly ListLine[]): MovementList => {
  const { lineCount: _lineCount, ...header } = record;
  return { ...header, lines };
};
