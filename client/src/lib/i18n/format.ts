/**
 * Fills a message template:
 * - `{name}`: the param's value (a number as `locale` writes it: `2,5` in German), an unknown
 *   placeholder is left as it is, visibly;
 * - `{name:one|other}`: the form that fits the number `name` in `locale` (`Intl.PluralRules`):
 *   `{n} {n:scan|scans}` reads "1 scan", "2 scans". English and German need these two forms.
 */
export function format(
  template: string,
  params: Readonly<Record<string, string | number>> = {},
  locale = 'en',
): string {
  return template.replace(
    /\{(\w+)(?::([^{}|]*)\|([^{}|]*))?\}/g,
    (m, name: string, one: string | undefined, other: string | undefined) => {
      if (!(name in params)) return m;
      const value = params[name];
      if (one === undefined || other === undefined)
        return typeof value === 'number' ? numberText(value, locale) : String(value);
      return pluralRules(locale).select(Number(value)) === 'one' ? one : other;
    },
  );
}

const numberFormats = new Map<string, Intl.NumberFormat>();
/**
 * A number as `locale` writes it: the decimal mark of the language (`2,5` in German, `2.5` in
 * English), up to the 6 decimals quantities keep, and no grouping — a count of 2000, a line
 * number or a seq reads as typed. Integers come out exactly as `String(n)`.
 */
export function numberText(n: number, locale: string): string {
  if (!Number.isFinite(n)) return String(n);
  let f = numberFormats.get(locale);
  if (!f) {
    f = new Intl.NumberFormat(locale, { maximumFractionDigits: 6, useGrouping: false });
    numberFormats.set(locale, f);
  }
  return f.format(n);
}

const rules = new Map<string, Intl.PluralRules>();
function pluralRules(locale: string): Intl.PluralRules {
  let r = rules.get(locale);
  if (!r) rules.set(locale, (r = new Intl.PluralRules(locale)));
  return r;
}

/**
 * A date (or its time) in `lang`, the app's language: in the browser's locale when that is of
 * the same language (`en-GB`, `de-AT`), else in the language itself.
 */
export function dateText(
  d: Date,
  lang: string,
  browser: string,
  what: 'datetime' | 'time' | 'date',
): string {
  const locale = browser.toLowerCase().startsWith(lang) ? browser : lang;
  if (what === 'date') return d.toLocaleDateString(locale, { timeZone: 'UTC' });
  return what === 'time' ? d.toLocaleTimeString(locale) : d.toLocaleString(locale);
}

/**
 * A calendar date (`YYYY-MM-DD`: a list's due date, a GS1 expiry) as `lang` writes it, the
 * same day in every time zone; anything else as it is.
 */
export function calendarDateText(iso: string, lang: string, browser: string): string {
  if (!/^\d{4}-\d{2}-\d{2}$/.test(iso)) return iso;
  const d = new Date(`${iso}T00:00:00Z`);
  return Number.isNaN(d.getTime()) ? iso : dateText(d, lang, browser, 'date');
}

/** `params` with those named in `dates` (calendar dates, `2027-06-30`) written by `write`. */
export function datesWritten(
  params: Readonly<Record<string, string | number>> | undefined,
  dates: readonly string[] | undefined,
  write: (iso: string) => string,
): Readonly<Record<string, string | number>> | undefined {
  if (!params || !dates?.length) return params;
  const out = { ...params };
  for (const name of dates) {
    const v = out[name];
    if (typeof v === 'string') out[name] = write(v);
  }
  return out;
}
