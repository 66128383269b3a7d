import { hasValidCheckDigit, looksLikeGtin, ssccProblem } from '@floorsync/domain';
import { z } from 'zod';

/**
 * What a label says, before any printer language: four kinds, each with what a warehouse
 * scans it for. Renderers (`zpl.ts`, `pdf.ts`) draw the same layout (`layout.ts`).
 */

/** A text a label prints: one line, no control characters. */
const text = (max: number) =>
  z
    .string()
    .trim()
    .min(1)
    .max(max)
    .refine((s) => !/\p{Cc}/u.test(s), 'contains control characters');

/** A GTIN-8/12/13/14 with a valid check digit, stored as GTIN-14 (as the domain stores barcodes). */
const gtin = z
  .string()
  .trim()
  .refine((s) => looksLikeGtin(s) && hasValidCheckDigit(s), {
    message: 'not a GTIN-8/12/13/14 with a valid check digit',
  })
  .transform((s) => s.padStart(14, '0'));

const sscc = z
  .string()
  .trim()
  .superRefine((s, ctx) => {
    const problem = ssccProblem(s);
    if (problem) ctx.addIssue({ code: 'custom', message: problem });
  });

const isoDate = z.string().regex(/^\d{4}-\d{2}-\d{2}$/, 'a date is YYYY-MM-DD');

export const itemLabelSchema = z.object({
  kind: z.literal('item'),
  sku: text(64),
  name: text(200),
  gtin: gtin.optional(),
});

export const positionLabelSchema = z.object({
  kind: z.literal('position'),
  code: text(64),
  name: text(200).optional(),
});

export const containerLabelSchema = z.object({
  kind: z.literal('container'),
  sscc,
  /** The container's position code; when it is not the SSCC itself, it gets a barcode too. */
  code: text(64),
  /**
   * What is on it. With a GTIN (and the count GS1 then requires), the label carries a second
   * GS1-128: (02) content, (37) count, (10) lot, (17) expiry — a GS1 logistic label.
   */
  contents: z
    .object({
      description: text(200).optional(),
      gtin: gtin.optional(),
      count: z.number().int().min(1).max(99_999_999).optional(),
      lot: text(20).optional(),
      expiry: isoDate.optional(),
    })
    .optional(),
});

export const serialLabelSchema = z.object({
  kind: z.literal('serial'),
  sku: text(64),
  serial: text(64),
  /** With a GTIN, the barcode is GS1-128 (01)(21); without, a Code 128 of the serial. */
  gtin: gtin.optional(),
});

export const labelSchema = z.discriminatedUnion('kind', [
  itemLabelSchema,
  positionLabelSchema,
  containerLabelSchema,
  serialLabelSchema,
]);

export type ItemLabel = z.infer<typeof itemLabelSchema>;
export type PositionLabel = z.infer<typeof positionLabelSchema>;
export type ContainerLabel = z.infer<typeof containerLabelSchema>;
export type SerialLabel = z.infer<typeof serialLabelSchema>;
export type Label = z.infer<typeof labelSchema>;

/**
 * Label stock sizes, in printer dots at 203 dpi (8 dots/mm), the resolution of most Zebra
 * desktop and industrial printers. 4×6" is the shipping/pallet label; 100×50 mm the common
 * shelf, item and serial label.
 */
export const LABEL_SIZES = {
  '4x6': { widthDots: 812, heightDots: 1218, widthMm: 101.6, heightMm: 152.4 },
  '100x50': { widthDots: 799, heightDots: 400, widthMm: 100, heightMm: 50 },
} as const;
export type LabelSize = keyof typeof LABEL_SIZES;
export const labelSizeSchema = z.enum(['4x6', '100x50']);

export const DPI = 203;

/** The label cannot be drawn as asked (a GS1 rule, data a barcode cannot carry, no room). */
export class LabelError extends Error {
  override readonly name = 'LabelError';
}
