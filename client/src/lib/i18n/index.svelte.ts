import { de } from './de.js';
import { en } from './en.js';
import { calendarDateText, dateText, datesWritten, format, numberText } from './format.js';
import type { Catalog, MessageKey } from './en.js';

/**
 * UI text lives in message catalogs (`en.ts`, `de.ts`); screens call `t(key, params)`.
 * `{name}` placeholders are filled from params. The locale is the user's choice, else the
 * browser's language, else English; changing it re-renders every screen (a rune).
 */
export const CATALOGS = { en, de } as const satisfies Record<string, Catalog>;
export type Locale = keyof typeof CATALOGS;
export const LOCALES = Object.keys(CATALOGS) as Locale[];
export type { MessageKey };
export { format };

const STORAGE_KEY = 'floorsync.locale';

function initial(): Locale {
  if (typeof localStorage !== 'undefined') {
    const saved = localStorage.getItem(STORAGE_KEY);
    if (saved && saved in CATALOGS) return saved as Locale;
  }
  const lang = typeof navigator !== 'undefined' ? navigator.language.slice(0, 2) : 'en';
  return lang in CATALOGS ? (lang as Locale) : 'en';
}

let current = $state<Locale>(initial());

export const i18n = {
  get locale(): Locale {
    return current;
  },
  set locale(l: Locale) {
    current = l;
    if (typeof localStorage !== 'undefined') localStorage.setItem(STORAGE_KEY, l);
    if (typeof document !== 'undefined') document.documentElement.lang = l;
  },
};

/** The text of `key` in the current locale (English when a catalog lacks it; the key itself if none has it). */
export function t(key: string, params?: Readonly<Record<string, string | number>>): string {
  const catalog: Readonly<Record<string, string>> = CATALOGS[current];
  const english: Readonly<Record<string, string>> = en;
  return format(catalog[key] ?? english[key] ?? key, params, current);
}

/**
 * The text of a message a flow gave (`{ key, params }`), its calendar-date params (`dates`)
 * written as the app's language does.
 */
export function say(m: {
  readonly key: string;
  readonly params?: Readonly<Record<string, string | number>>;
  readonly dates?: readonly string[];
}): string {
  return t(m.key, datesWritten(m.params, m.dates, formatDate));
}

/** A calendar date (`2027-06-30`: a due date, an expiry) as the app's language writes it. */
export function formatDate(iso: string): string {
  const browser = typeof navigator !== 'undefined' ? navigator.language : '';
  return calendarDateText(iso, current, browser);
}

/** A quantity as the app's language writes it (`2,5` in German; integers as they are). */
export function formatQty(n: number): string {
  return numberText(n, current);
}

/**
 * A date and time (or a time) as the app's language writes it: the browser's own locale when
 * it is of that language (`en-GB`, `de-AT`), else the language itself — not the browser's
 * locale of another language (German words with American dates).
 */
export function formatDateTime(
  iso: string | null | undefined,
  what: 'datetime' | 'time' = 'datetime',
): string {
  if (!iso) return '';
  const d = new Date(iso);
  if (Number.isNaN(d.getTime())) return iso;
  const browser = typeof navigator !== 'undefined' ? navigator.language : '';
  return dateText(d, current, browser, what);
}
