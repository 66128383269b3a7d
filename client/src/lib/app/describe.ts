import type { InventoryView, ItemId, PositionId } from '@floorsync/domain';

export type Translate = (key: string, params?: Readonly<Record<string, string | number>>) => string;

/**
 * A queued command in the operator's words: what it was (`command.<name>`) and what it was
 * about — `Receive · 7 × BOLT-M8 at A-01-04`, `Move · 2 × NUT-M8 (Lot L1) from B-01-01 → B-02-02`
 * — with item SKUs and position codes from the device's replica (the id where it does not
 * know them). For the list of refused scans: the operator must tell which scan to redo.
 */
export function describeCommand(
  name: string,
  args: unknown,
  view: InventoryView | undefined,
  t: Translate,
  /** How the screen writes a quantity (`formatQty`: `2,5` in German). */
  qtyText: (n: number) => string = String,
): string {
  const label = t(`command.${name}`);
  const what = label === `command.${name}` ? name : label;
  const a = (typeof args === 'object' && args !== null ? args : {}) as Record<string, unknown>;
  const str = (k: string) => (typeof a[k] === 'string' && a[k] !== '' ? a[k] : null);
  const num = (k: string) => (typeof a[k] === 'number' ? a[k] : null);
  const code = (id: string | null) =>
    id === null ? null : (view?.position(id as PositionId)?.code ?? id);
  const itemId = str('itemId');
  const sku = itemId === null ? null : (view?.item(itemId as ItemId)?.sku ?? itemId);
  const lot = str('lot');
  const serial = str('serial');
  const ref = [lot && `${t('field.lot')} ${lot}`, serial && `${t('field.serial')} ${serial}`]
    .filter(Boolean)
    .join(', ');
  const qty = num('quantity') ?? num('delta') ?? num('counted');
  const at = code(str('positionId') ?? str('from'));
  const to = code(str('to'));
  const container = code(str('containerId'));
  const about = [
    sku !== null
      ? `${qty !== null ? `${qtyText(qty)} × ` : ''}${sku}${ref ? ` (${ref})` : ''}`
      : '',
    container !== null ? container : '',
    // A move reads from → to ("von A → B"); anything else, where ("auf A").
    at !== null ? `${to !== null ? t('field.from').toLowerCase() : t('field.at')} ${at}` : '',
    to !== null ? `→ ${to}` : '',
  ]
    .filter(Boolean)
    .join(' ');
  return about ? `${what} · ${about}` : what;
}

/**
 * A scan saved with something for an admin to review, in the operator's language: the kinds
 * of conflict it raised (`Negative stock`, `Outdated action`), each once. The conflicts' own
 * messages are for the admin console (`conflictMessage`).
 */
export function savedForReview(
  conflicts: readonly { readonly kind: string }[],
  t: Translate,
): string {
  const kinds = [...new Set(conflicts.map((c) => t(`conflict.kind.${c.kind}`)))];
  return t('scan.savedForReview', { kinds: kinds.join(', ') });
}

/**
 * A problem of a row of a file (a bulk adjustment, a movement list, a counting sheet) in the
 * user's language: the text of its code (`rowError.<CODE>`) filled with its values. A report
 * without a code (stored by an older server) keeps its English message.
 */
export function rowErrorText(
  e: {
    readonly code?: string;
    readonly values?: Readonly<Record<string, string | number>>;
    readonly message: string;
  },
  t: Translate,
): string {
  if (!e.code) return e.message;
  const key = `rowError.${e.code}`;
  const text = t(key, e.values ?? {});
  return text === key ? e.message : text;
}

/**
 * Why a job failed, in the user's language: its problem's text (`jobProblem.<CODE>`), a
 * printer's problems each in words (`printerProblem.<code>`: "Papier leer, angehalten"). A job
 * without a problem (failed before the codes, or by a cause no code fits), or with a code this
 * app does not know, keeps its English `error`.
 */
export function jobFailureText(
  job: {
    readonly error: string | null;
    readonly problem?: {
      readonly code: string;
      readonly values: Readonly<Record<string, string | number>>;
    } | null;
  },
  t: Translate,
): string {
  const p = job.problem;
  if (!p) return job.error ?? '';
  const values = { ...p.values };
  if (p.code === 'PRINTER_STATUS' && typeof values['problems'] === 'string')
    values['problems'] = values['problems']
      .split(',')
      .filter((c) => c !== '')
      .map((c) => {
        const key = `printerProblem.${c}`;
        const text = t(key);
        return text === key ? c : text;
      })
      .join(', ');
  const key = `jobProblem.${p.code}`;
  const text = t(key, values);
  return text === key ? (job.error ?? '') : text;
}

/**
 * What a conflict says, in the user's language: its `detail.text` (the domain's code and
 * values, `conflictText.<CODE>`); a conflict a refusal opened, by the refusal's code
 * (`rejectionText`); else — an older conflict, or a code this app does not know — its English
 * message. Numbers are written as the language writes them (`2,5`): the values' numbers by
 * `t`, a disagreement's list of counts by `qtyText` (from `detail.counts`), and a refusal
 * named in the text (`reason`) leads with its code's words.
 */
export function conflictMessage(
  c: { readonly message: string; readonly detail?: Readonly<Record<string, unknown>> },
  t: Translate,
  qtyText: (n: number) => string = String,
): string {
  const detail = c.detail ?? {};
  const refusal = typeof detail['code'] === 'string' ? detail['code'] : null;
  const text = detail['text'];
  if (typeof text === 'object' && text !== null) {
    const { code, values } = text as { code?: unknown; values?: unknown };
    if (typeof code === 'string' && typeof values === 'object' && values !== null) {
      const said: Record<string, string | number> = {
        ...(values as Record<string, string | number>),
      };
      if (typeof said['reason'] === 'string' && refusal !== null)
        said['reason'] = rejectionText(refusal, said['reason'], t);
      const counts = countsText(detail['counts'], qtyText);
      if (code === 'COUNTS_DISAGREE' && counts !== null) said['counts'] = counts;
      const key = `conflictText.${code}`;
      const out = t(key, said);
      if (out !== key) return out;
    }
  }
  return refusal !== null ? rejectionText(refusal, c.message, t) : c.message;
}

/** A disagreement's counts as `2,5 (who), {s1, s2} (who)`; null when they are not readable. */
function countsText(counts: unknown, qtyText: (n: number) => string): string | null {
  if (!Array.isArray(counts)) return null;
  const parts: string[] = [];
  for (const c of counts as unknown[]) {
    const { counted, serials, countedBy } = (c ?? {}) as Record<string, unknown>;
    const what = Array.isArray(serials)
      ? `{${serials.map(String).join(', ')}}`
      : typeof counted === 'number'
        ? qtyText(counted)
        : null;
    if (what === null || typeof countedBy !== 'string') return null;
    parts.push(`${what} (${countedBy})`);
  }
  return parts.join(', ');
}

/**
 * A refusal in the user's words: the text of its code (`reject.<CODE>`), with the decider's
 * detail after it (it names the codes and quantities); the detail alone for a code the
 * catalog has no text for (a newer server's).
 */
/**
 * What a command that failed on the device says (after "Not saved:"): a command its own rules
 * refused (`InvalidCommandError`) in the user's words, the schema's detail after them; else the
 * error's message (a storage failure, a bug: its words are all there is).
 */
export function failureText(e: unknown, t: Translate): string {
  if (!(e instanceof Error)) return String(e);
  const code = e.name === 'InvalidCommandError' ? (e as { code?: unknown }).code : undefined;
  // Refused by its schema on the device: a form's entry as often as a scan.
  if (code === 'VALIDATION_FAILED') return t('failure.invalid', { detail: e.message });
  return typeof code === 'string' ? rejectionText(code, e.message, t) : e.message;
}

export function rejectionText(code: string | null, message: string, t: Translate): string {
  const key = `reject.${code ?? ''}`;
  const text = t(key);
  return text === key ? message : `${text} (${message})`;
}
