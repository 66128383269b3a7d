/**
 * People as the screens name them. The domain's messages name users by id (it knows no names:
 * `counted 5 by 0192…`); a screen that shows such a message to a supervisor or an admin puts
 * each known person's name in place of their id.
 */
export interface Person {
  readonly id: string;
  readonly name: string;
  readonly username: string;
  readonly role: string;
}

/** `text` with every known person's id replaced by their name (ids unknown here stay). */
export function withNames(text: string, people: readonly Person[]): string {
  let out = text;
  for (const p of people) if (p.id !== '' && out.includes(p.id)) out = out.split(p.id).join(p.name);
  return out;
}
