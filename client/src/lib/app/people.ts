import { api } from './api.js';

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

const PEOPLE_KEY = 'floorsync.people';
let asking: Promise<Person[]> | null = null;

/** The people last read from the server on this device (names offline, too). */
export function cachedPeople(): Person[] {
  try {
    const raw = typeof localStorage !== 'undefined' ? localStorage.getItem(PEOPLE_KEY) : null;
    return raw ? (JSON.parse(raw) as Person[]) : [];
  } catch {
    return [];
  }
}

/**
 * `/api/people` (everyone who can be given work), one request at a time however many screens
 * ask; kept for `cachedPeople`.
 */
export function fetchPeople(token: string): Promise<Person[]> {
  asking ??= api<Person[]>(token, '/api/people')
    .then((p) => {
      if (typeof localStorage !== 'undefined') localStorage.setItem(PEOPLE_KEY, JSON.stringify(p));
      return p;
    })
    .finally(() => {
      asking = null;
    });
  return asking;
}
